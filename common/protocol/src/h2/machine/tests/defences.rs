//! defences tests (to come).

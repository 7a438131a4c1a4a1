//! errors tests (to come).

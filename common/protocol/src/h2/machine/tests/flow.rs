//! flow tests (to come).

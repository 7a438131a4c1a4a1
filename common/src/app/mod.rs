//! The application every stage serves (placeholder: being written).

//! Command line shared by every stage (placeholder: being written).

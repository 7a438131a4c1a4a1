//! HTTP/1.1 connection state machine (placeholder: being written).

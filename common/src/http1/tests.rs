//! Tests of the whole connection machine: bytes in, responses out.

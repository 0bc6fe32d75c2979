//! shots

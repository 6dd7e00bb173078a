//! Test support for dbplane: the PlanetScale API contract and helpers for integration tests.

pub mod contract;

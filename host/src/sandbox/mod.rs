//! The sandbox: everything between a plugin and the machine it runs on.
//!
//! - [`capabilities`]: grants, requests and their intersection (deny by default).
//! - [`inputs`]: typing and defaulting inputs; origins granted by author-written URLs.
//! - [`runtime`]: wasmtime's engine, linker, compiled-component cache, stores and limits.
//! - [`imports`]: the host side of each `tollgate:plugin` import, masked and capped.
//! - [`net`]: outbound connections (`wasi:http`), address rules and TLS.
//! - [`provided`]: what the host links, checked against a component before compiling it.
//!
//! Architecture invariant: nothing here prints or reads runner variables; what a plugin
//! says leaves as [`Event`](crate::events::Event)s and [`Produced`](imports::Produced).

pub mod capabilities;
pub mod imports;
pub mod inputs;
pub mod net;
pub mod provided;
pub mod runtime;
pub mod sensitive;

//! Nothing to generate. The build-dependency on protoc-bin-vendored makes cargo fetch a
//! protoc before any build script runs; `tools/protoc` (PROTOC, from .cargo/config.toml)
//! falls back to it when the machine has no protoc of its own, for etcd-client's build.

fn main() {
    // Touch the crate so the dependency is a real one; its path is found by tools/protoc.
    let _ = protoc_bin_vendored::protoc_bin_path();
    println!("cargo:rerun-if-changed=build.rs");
}

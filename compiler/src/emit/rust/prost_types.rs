//! prost types from the descriptor set, nested in modules that mirror the proto
//! packages (`manifold::v1`, `manifold::<product>::v1`), so prost's relative paths
//! (`super::super::v1::Ari`) resolve.

use prost::Message as _;
use prost_build::Module;

pub fn generate(descriptor_set: &[u8], product: &str) -> Result<String, String> {
    let fds =
        ::prost_types::FileDescriptorSet::decode(descriptor_set).map_err(|e| format!("bad descriptor set: {e}"))?;
    // prost-build needs every file of the set (imports included) to resolve types.
    let requests: Vec<(Module, ::prost_types::FileDescriptorProto)> =
        fds.file.iter().map(|f| (Module::from_protobuf_package_name(f.package()), f.clone())).collect();
    let mut generated =
        prost_build::Config::new().generate(requests).map_err(|e| format!("prost-build failed: {e}"))?;
    let mut take = |package: &str| generated.remove(&Module::from_protobuf_package_name(package)).unwrap_or_default();
    let envelope = take("manifold.v1");
    let own = take(&format!("manifold.{product}.v1"));
    Ok(format!(
        "pub mod manifold {{\n pub mod v1 {{\n{}\n}}\n pub mod {product} {{\n pub mod v1 {{\n{}\n}}\n}}\n}}\n",
        indent(&envelope),
        indent(&own)
    ))
}

fn indent(code: &str) -> String {
    code.lines().map(|l| if l.is_empty() { String::new() } else { format!("    {l}") }).collect::<Vec<_>>().join("\n")
}

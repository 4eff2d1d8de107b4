fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap());
    for (rel, text) in manifold_compiler::synthetic::tree(manifold_compiler::synthetic::Shape::BENCH) {
        let p = dir.join(&rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

//! Parse + resolve + lock numbering of the synthetic 2,000-entity × 20-field tree
//! (generated in memory by `manifold_compiler::synthetic`). Run with
//! `cargo bench --workspace --bench front_end`.

use criterion::{Criterion, criterion_group, criterion_main};
use manifold_compiler::synthetic::{Shape, tree};
use manifold_compiler::{compile_loaded, load};

fn front_end(c: &mut Criterion) {
    let files = tree(Shape::BENCH);
    let first = compile_loaded(load::from_memory(&files, None), "manifold.lock".into());
    assert!(first.diagnostics.is_empty(), "the synthetic tree must be valid");
    assert_eq!(first.model.entities().count(), 2000);
    let lock = first.lock_text.clone();

    let mut group = c.benchmark_group("front_end_2000x20");
    group.sample_size(10);
    group.bench_function("parse+resolve+lock (fresh lock)", |b| {
        b.iter(|| compile_loaded(load::from_memory(&files, None), "manifold.lock".into()))
    });
    group.bench_function("parse+resolve+lock (existing lock)", |b| {
        b.iter(|| compile_loaded(load::from_memory(&files, Some(&lock)), "manifold.lock".into()))
    });
    group.finish();
}

criterion_group!(benches, front_end);
criterion_main!(benches);

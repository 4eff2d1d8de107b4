//! Deterministic data parallelism for emitters: the work is split over the
//! machine's cores, the results come back in input order, so parallel output is
//! byte-identical to sequential output.

/// `f` over `items` on every core; each worker thread first builds its own state
/// with `init` (e.g. a template environment), then maps its chunk.
pub fn map_init<T, S, R>(items: &[T], init: impl Fn() -> S + Sync, f: impl Fn(&mut S, &T) -> R + Sync) -> Vec<R>
where
    T: Sync,
    R: Send,
{
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(items.len().max(1));
    if workers <= 1 || items.len() < 16 {
        let mut state = init();
        return items.iter().map(|x| f(&mut state, x)).collect();
    }
    let chunk = items.len().div_ceil(workers);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| {
                let (init, f) = (&init, &f);
                scope.spawn(move || {
                    let mut state = init();
                    part.iter().map(|x| f(&mut state, x)).collect::<Vec<R>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_keep_input_order() {
        let items: Vec<u32> = (0..1000).collect();
        let out = super::map_init(&items, || 1u32, |one, x| x * 2 + *one);
        assert_eq!(out, items.iter().map(|x| x * 2 + 1).collect::<Vec<_>>());
    }
}

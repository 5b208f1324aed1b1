//! Property tests over random small plans: what must hold for every input, however broken.

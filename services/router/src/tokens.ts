/** Injection tokens of the router's adapters (kept apart so adapters and services import them without a cycle). */
export const VECTOR_STORE = Symbol('VECTOR_STORE');
export const EMBEDDINGS_CLIENT = Symbol('EMBEDDINGS_CLIENT');

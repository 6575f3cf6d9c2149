//! Hash maps and sets for the paths every span takes (head inserts, block writing): foldhash, seeded once per
//! process, instead of the standard library's SipHash, which cost ~9% of ingest CPU hashing trace ids,
//! attribute keys, service and span names.

/// A `HashMap` hashed with foldhash.
pub type FastHashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
/// A `HashSet` hashed with foldhash.
pub type FastHashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

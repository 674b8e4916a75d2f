/// The mock's automatic prefix cache, after vLLM V1's: a prompt's tokens are cut into blocks of `blockSize`, each
/// full block named by a hash of its tokens chained to the previous block's hash, and a new request reuses the
/// longest run of leading blocks already cached; a finished request's answer continues its prompt's blocks and
/// those full blocks are cached too, so a conversation's next turn finds its history. One cache per replica, as
/// each vLLM engine (one replica) has its own.
///
/// Simplifications, stated: a request's blocks count as cached from the moment it arrives (vLLM caches them as
/// they are computed, so two identical prompts arriving together both miss there); capacity is the replica's KV
/// blocks, evicting the least recently used (vLLM evicts free cached blocks LRU, and never those in use).
struct PrefixCache {
    let blockSize: Int
    let capacityBlocks: Int
    /// Block hash → tick of its last use.
    private var lastUse: [UInt64: UInt64] = [:]
    private var tick: UInt64 = 0

    init(blockSize: Int, capacityBlocks: Int) {
        self.blockSize = max(1, blockSize)
        self.capacityBlocks = max(1, capacityBlocks)
    }

    var count: Int { lastUse.count }

    /// The chain's first parent (FNV-1a's offset basis).
    static let rootHash: UInt64 = 0xcbf2_9ce4_8422_2325

    /// The chained hashes of `ids`' full blocks, continuing a chain whose last hash is `parent`.
    static func blockHashes(_ ids: ArraySlice<Int>, blockSize: Int, parent: UInt64 = rootHash) -> [UInt64] {
        guard blockSize > 0, ids.count >= blockSize else { return [] }
        var hashes: [UInt64] = []
        hashes.reserveCapacity(ids.count / blockSize)
        var parent = parent
        var start = ids.startIndex
        while start + blockSize <= ids.endIndex {
            var h = parent
            for id in ids[start..<(start + blockSize)] { h = (h ^ UInt64(truncatingIfNeeded: id)) &* 0x100_0000_01b3 }
            // A final mix so chained FNV states do not collide on shifted inputs.
            h ^= h >> 33
            h = h &* 0xff51_afd7_ed55_8ccd
            h ^= h >> 33
            hashes.append(h)
            parent = h
            start += blockSize
        }
        return hashes
    }

    /// Tokens of a `promptTokens`-token prompt with these block hashes that the cache already holds, then caches
    /// its blocks. A fully cached prompt still computes its last block (a step needs at least one new token).
    mutating func admit(_ hashes: [UInt64], promptTokens: Int) -> Int {
        tick += 1
        var hit = 0
        while hit < hashes.count, lastUse[hashes[hit]] != nil { hit += 1 }
        if hit > 0 && hit * blockSize >= promptTokens { hit -= 1 }
        for h in hashes { lastUse[h] = tick }
        if lastUse.count > capacityBlocks + capacityBlocks / 8 { evict() }
        return hit * blockSize
    }

    /// Caches blocks computed by decoding (vLLM keeps a finished request's full blocks, generated tokens
    /// included, so the next turn of a conversation finds its history, answers and all).
    mutating func insert(_ hashes: [UInt64]) {
        guard !hashes.isEmpty else { return }
        tick += 1
        for h in hashes { lastUse[h] = tick }
        if lastUse.count > capacityBlocks + capacityBlocks / 8 { evict() }
    }

    /// Drops the least recently used blocks down to capacity (in batches, so admission stays O(blocks)).
    private mutating func evict() {
        let keep = lastUse.sorted { $0.value > $1.value }.prefix(capacityBlocks)
        lastUse = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
    }

    mutating func reset() { lastUse.removeAll() }
}

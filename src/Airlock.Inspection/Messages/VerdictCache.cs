using System.IO.Hashing;
using System.Security.Cryptography;

namespace Airlock.Inspection.Messages;

/// <summary>
/// Bounded, thread-safe LRU of scan verdicts keyed by a content hash of each JSON string's raw
/// bytes. Claude Code resends the whole conversation every turn, so with this cache a turn
/// pays only for the strings it has not seen. A cache belongs to one scanner: verdicts are
/// only valid for the rules that produced them.
/// </summary>
public sealed class VerdictCache
{
    // Rough per-entry footprint: dictionary slot, linked-list node, entry object, array header.
    private const int EntryOverheadBytes = 160;
    private const int MatchBytes = 40;

    // Per-process secret seeds of the content key (see KeyOf); random so keys cannot be predicted or forced to collide.
    // Short strings, padded, get their own seed: a padded block and a long string never share a key space.
    private static readonly long s_seed = BitConverter.ToInt64(RandomNumberGenerator.GetBytes(sizeof(long)));
    private static readonly long s_shortSeed = BitConverter.ToInt64(RandomNumberGenerator.GetBytes(sizeof(long)));

    /// <summary>Size of the block a short string is padded to before hashing (above XXH3's 240-byte short-input path).</summary>
    internal const int PaddedKeyBytes = 256;

    private readonly Lock _lock = new();
    private readonly Dictionary<UInt128, LinkedListNode<Entry>> _map = [];
    private readonly LinkedList<Entry> _lru = new();
    private readonly int _maxEntries;
    private readonly long _maxBytes;
    private long _bytes;
    private long _hits;
    private long _misses;

    public VerdictCache(VerdictCacheOptions? options = null)
    {
        options ??= new VerdictCacheOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxEntries);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxBytes);
        _maxEntries = options.MaxEntries;
        _maxBytes = options.MaxBytes;
    }

    /// <summary>Entries held now.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _map.Count;
            }
        }
    }

    /// <summary>Estimated bytes held now.</summary>
    public long Bytes => Interlocked.Read(ref _bytes);

    /// <summary>Lookups that found a verdict.</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>Lookups that did not.</summary>
    public long Misses => Interlocked.Read(ref _misses);

    /// <summary>
    /// Content key of a string's raw JSON bytes: seeded XXH128. SHA-256 over a 1 MB conversation
    /// costs ~0.7 ms per turn; XXH128 runs at memory speed. XXH128 is not collision resistant
    /// against someone who knows the seed, and a colliding string would inherit a clean verdict
    /// and skip inspection, so the seed is a per-process random 64-bit value that never leaves
    /// this process: without it, a client cannot craft a string whose key equals a clean one.
    /// XXH3's path for inputs of at most 240 bytes is weaker than that: Cyan4973/xxHash#1127 publishes seed-independent
    /// families of 32–240-byte pairs that collide for about 2^-27 of seeds (see <see cref="ConversationPrefixMemo.MinKeyedBytes"/>),
    /// and a string's raw bytes are the client's to choose. So a string that short is hashed as a
    /// <see cref="PaddedKeyBytes"/>-byte block (its bytes, zeros, its length in the last byte), which takes the
    /// long-input path; the block is unambiguous (one length per block) and costs tens of nanoseconds.
    /// </summary>
    public static UInt128 KeyOf(ReadOnlySpan<byte> raw)
    {
        if (raw.Length >= ConversationPrefixMemo.MinKeyedBytes)
        {
            return XxHash128.HashToUInt128(raw, s_seed);
        }
        Span<byte> block = stackalloc byte[PaddedKeyBytes];
        raw.CopyTo(block);
        block[raw.Length..].Clear();
        block[^1] = (byte)raw.Length;
        return XxHash128.HashToUInt128(block, s_shortSeed);
    }

    /// <summary>Looks up a verdict and marks it most recently used.</summary>
    public bool TryGet(UInt128 key, out TextMatch[] matches)
    {
        lock (_lock)
        {
            if (_map.TryGetValue(key, out var node))
            {
                _lru.Remove(node);
                _lru.AddFirst(node);
                _hits++;
                matches = node.Value.Matches;
                return true;
            }

            _misses++;
        }

        matches = [];
        return false;
    }

    /// <summary>Stores a verdict (an empty array for a clean string), evicting the least recently used.</summary>
    public void Set(UInt128 key, TextMatch[] matches)
    {
        ArgumentNullException.ThrowIfNull(matches);
        long size = EntryOverheadBytes + ((long)matches.Length * MatchBytes);
        lock (_lock)
        {
            if (_map.TryGetValue(key, out var existing))
            {
                _bytes -= existing.Value.Size;
                _lru.Remove(existing);
                _map.Remove(key);
            }

            var node = _lru.AddFirst(new Entry(key, matches, size));
            _map[key] = node;
            _bytes += size;
            while (_map.Count > _maxEntries || (_bytes > _maxBytes && _lru.Count > 1))
            {
                var last = _lru.Last!;
                _lru.RemoveLast();
                _map.Remove(last.Value.Key);
                _bytes -= last.Value.Size;
            }
        }
    }

    private sealed record Entry(UInt128 Key, TextMatch[] Matches, long Size);
}

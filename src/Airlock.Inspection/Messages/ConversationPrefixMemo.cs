using System.IO.Hashing;
using System.Security.Cryptography;
using System.Text.Json;

namespace Airlock.Inspection.Messages;

/// <summary>
/// What the request walk learned about the conversations it inspected, so that the next turn of a conversation
/// resumes the walk where its body stops matching the previous one instead of reading the whole body again.
/// Claude Code resends the whole conversation every turn: the bytes up to the last messages are identical, and
/// with this memo a turn costs a hash of that prefix (memory speed) plus a walk of the new tail.
/// </summary>
/// <remarks>
/// A memo holds checkpoints taken between two elements of <c>messages</c>: the reader state, the walk's frames and
/// counters, and a seeded XXH128 of the bytes since the previous checkpoint. A new body resumes from the last
/// checkpoint whose every preceding segment hashes equal (so its prefix is, byte for byte, a prefix already
/// inspected). Verdicts do not depend on policy or team: the strings of that prefix that had matches are
/// recorded by position and replayed under the current policy, so findings, placeholders and blocks are exactly
/// those of a full walk. The seed is per process and secret, as for <see cref="VerdictCache"/>: a client cannot
/// forge a prefix that hashes like an inspected one. Bounded LRU; thread-safe.
/// </remarks>
internal sealed class ConversationPrefixMemo
{
    /// <summary>Smallest distance between two checkpoints of one memo (bounds their number on long bodies).</summary>
    internal const int MinCheckpointGap = 8 * 1024;

    /// <summary>
    /// Fewest bytes a memo is keyed on (a conversation's first segment, a remembered member). XXH3's seeded hash of inputs
    /// of at most 240 bytes is the weak one: Cyan4973/xxHash#1127 publishes pairs of 32–240 bytes that collide for about
    /// 2^-27 of seeds (64- and 128-bit), where a sound 128-bit key would give 2^-128. That family needs the first two
    /// 8-byte words complemented, which a key starting with <c>{"</c> or <c>"system"</c> cannot be, but other short-input
    /// families would let a client make an uninspected body look inspected. Longer inputs take XXH3's long-input path;
    /// short ones cost next to nothing to walk anyway.
    /// </summary>
    internal const int MinKeyedBytes = 241;

    private static readonly long s_seed = BitConverter.ToInt64(RandomNumberGenerator.GetBytes(sizeof(long)));

    private readonly Lock _lock = new();
    private readonly Dictionary<(int Offset, UInt128 Hash), LinkedListNode<Memo>> _byHead = [];
    private readonly LinkedList<Memo> _lru = new();
    private readonly Dictionary<int, int> _headOffsets = [];
    private readonly Dictionary<UInt128, MemberMemo> _members = [];
    private readonly int _maxMemos;

    public ConversationPrefixMemo(int maxMemos)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxMemos);
        _maxMemos = maxMemos;
    }

    /// <summary>Turns that resumed from a checkpoint.</summary>
    public long Resumed { get; private set; }

    public static UInt128 SegmentHash(ReadOnlySpan<byte> segment) => XxHash128.HashToUInt128(segment, s_seed);

    /// <summary>The memo whose first checkpoint's prefix <paramref name="body"/> starts with, or null.</summary>
    public Memo? Find(ReadOnlySpan<byte> body)
    {
        int[] offsets;
        lock (_lock)
        {
            offsets = [.. _headOffsets.Keys];
        }

        foreach (var offset in offsets)
        {
            if (offset > body.Length)
            {
                continue;
            }

            var key = (offset, SegmentHash(body[..offset]));
            lock (_lock)
            {
                if (_byHead.TryGetValue(key, out var node))
                {
                    _lru.Remove(node);
                    _lru.AddFirst(node);
                    Resumed++;
                    return node.Value;
                }
            }
        }

        return null;
    }

    /// <summary>Stores (or replaces) the memo of a conversation, keyed by its first checkpoint.</summary>
    public void Store(Memo memo)
    {
        ArgumentNullException.ThrowIfNull(memo);
        if (memo.Checkpoints.Count == 0)
        {
            return;
        }

        var head = memo.Checkpoints[0];
        var key = (head.Offset, head.SegmentHash);
        lock (_lock)
        {
            if (_byHead.Remove(key, out var existing))
            {
                _lru.Remove(existing);
                ReleaseOffset(key.Offset);
            }

            _byHead[key] = _lru.AddFirst(memo);
            _headOffsets[key.Offset] = _headOffsets.GetValueOrDefault(key.Offset) + 1;
            while (_byHead.Count > _maxMemos)
            {
                var last = _lru.Last!;
                _lru.RemoveLast();
                var lastHead = last.Value.Checkpoints[0];
                _byHead.Remove((lastHead.Offset, lastHead.SegmentHash));
                ReleaseOffset(lastHead.Offset);
            }
        }
    }

    /// <summary>
    /// The remembered walk of a member other than <c>messages</c> (the <c>system</c> prompt, identical on every turn
    /// of every conversation of one client version), keyed by the seeded hash of its name and value bytes.
    /// </summary>
    public MemberMemo? FindMember(UInt128 key, int length)
    {
        lock (_lock)
        {
            return _members.TryGetValue(key, out var memo) && memo.Length == length ? memo : null;
        }
    }

    /// <summary>Stores the walk of a member (a bounded set: when full, it starts over).</summary>
    public void StoreMember(UInt128 key, MemberMemo memo)
    {
        lock (_lock)
        {
            if (_members.Count >= _maxMemos)
            {
                _members.Clear();
            }

            _members[key] = memo;
        }
    }

    private void ReleaseOffset(int offset)
    {
        if (_headOffsets.TryGetValue(offset, out var count) && count > 1)
        {
            _headOffsets[offset] = count - 1;
        }
        else
        {
            _headOffsets.Remove(offset);
        }
    }

    /// <summary>One conversation's checkpoints and the strings with matches before the last one. Immutable once stored.</summary>
    internal sealed class Memo(List<Checkpoint> checkpoints, List<MatchedString> matched)
    {
        public List<Checkpoint> Checkpoints { get; } = checkpoints;

        public List<MatchedString> Matched { get; } = matched;
    }

    /// <summary>
    /// The walk's state between two elements of <c>messages</c>, right after byte <see cref="Offset"/>.
    /// <see cref="SegmentHash"/> covers the bytes from the previous checkpoint (or the body start) to here.
    /// </summary>
    internal sealed record Checkpoint(int Offset, UInt128 SegmentHash, JsonReaderState State, MessagesRequestWalk.Frame[] Frames, int Strings, int MatchedCount);

    /// <summary>
    /// One member's walk: its byte length, the strings it counted, and its strings with matches, their
    /// <see cref="MatchedString.RawStart"/> relative to the member's name.
    /// </summary>
    internal sealed record MemberMemo(int Length, int Strings, MatchedString[] Matched);

    /// <summary>A string of the prefix that had matches: replayed (decoded again from the identical bytes) on resume.</summary>
    internal sealed record MatchedString(int RawStart, int RawLength, TextMatch[] Matches, string Location, bool Signed);
}

using System.Buffers;
using System.Text;
using System.Runtime.CompilerServices;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Airlock.Inspection;

/// <summary>
/// Finds every occurrence of a set of keywords (ASCII, case-insensitive) in one pass. With hundreds of keywords
/// <see cref="SearchValues{T}"/> falls back to Aho-Corasick (~70 Mchar/s on code for the built-in pack's 400+
/// keywords), which alone would cap inspection far below the target. This matcher folds ASCII case of each character
/// ((c | 0x20) &amp; 0x7F) and asks, per position, one hashed bitmap (16 KB, L1-resident): "may these four folded
/// characters start a keyword?". A keyword of four or more characters sets the bit of its first four; a
/// three-character keyword sets the bits of its three followed by each of the 64 values a folded character can take,
/// so one lookup answers for both kinds (session 4 used a second bitmap for the three-character keywords, and a
/// second gather per eight positions). Testing four characters for the long keywords, not only three, keeps
/// "sec"-tion, "aut"-o, "pas"-t from reaching the exact check. With AVX2 the test runs eight positions at a time (one
/// gather); elsewhere one position at a time, same bitmap. Only positions
/// that pass look their folded four (or three) characters up in exact tables of keyword prefixes and compare whole
/// keywords. Keywords that are not ASCII or shorter than three characters go through a <see cref="SearchValues{T}"/>
/// pass instead. Immutable and thread-safe.
/// </summary>
internal sealed class KeywordMatcher
{
    // Folding each 16-bit lane with |0x20 and &0x7F maps 'A'..'Z' onto 'a'..'z' and every other character onto some
    // value consistently, so a text character equal to a keyword character ignoring ASCII case always has the same
    // folded value: the bitmaps and the prefix table can only produce false candidates (removed by the exact
    // comparison), never miss a keyword.
    private const ulong FoldOr = 0x0020_0020_0020_0020UL;
    private const ulong FoldAnd = 0x007F_007F_007F_007FUL;
    private const ulong ThreeLanes = 0x0000_FFFF_FFFF_FFFFUL;
    private const int HashBits = 17; // 16 KB: half of L1d, and 1–2 % of the bits set for the built-in pack
    private const uint Multiplier4 = 0x85EB_CA77u; // an odd constant with well-mixed bits (xxHash's PRIME32_2)

    private readonly int[] _fourBits = new int[(1 << HashBits) / 32];
    private readonly bool _useVector;
    private readonly PrefixTable _prefixes;
    private readonly int[] _prefixKeywords;
    private readonly string[] _lowerKeywords;
    private readonly ulong[] _secondWords;
    private readonly ulong[] _secondMasks;
    private readonly string[] _keywords;
    private readonly SearchValues<string>? _fallback;

    public KeywordMatcher(IReadOnlyList<string> keywords)
        : this(keywords, useVector: true)
    {
    }

    /// <summary>With <paramref name="useVector"/> false every position takes the scalar path (tests compare the two).</summary>
    internal KeywordMatcher(IReadOnlyList<string> keywords, bool useVector)
    {
        ArgumentNullException.ThrowIfNull(keywords);
        _useVector = useVector && Avx2.IsSupported;
        _keywords = [.. keywords];
        var byFour = new Dictionary<ulong, List<int>>();
        var byThree = new Dictionary<ulong, List<int>>();
        var fallback = new List<string>();
        for (var k = 0; k < _keywords.Length; k++)
        {
            var keyword = _keywords[k];
            if (keyword.Length < 3 || !Ascii.IsValid(keyword))
            {
                fallback.Add(keyword);
                continue;
            }

            var key3 = Key3(keyword[0], keyword[1], keyword[2]);
            if (keyword.Length >= 4)
            {
                SetBit(_fourBits, Hash4(key3, Fold(keyword[3])));
            }
            else
            {
                // Whatever character follows, its folded value has bit 5 set: (c | 0x20) & 0x7F is one of these 64.
                for (var fourth = 0x20u; fourth < 0x80u; fourth++)
                {
                    if ((fourth & 0x20) != 0)
                    {
                        SetBit(_fourBits, Hash4(key3, fourth));
                    }
                }
            }

            var (key, table) = keyword.Length >= 4 ? (Fold4(keyword[0], keyword[1], keyword[2], keyword[3]), byFour) : (Fold4(keyword[0], keyword[1], keyword[2], '\0') & ThreeLanes, byThree);
            if (!table.TryGetValue(key, out var list))
            {
                table[key] = list = [];
            }

            list.Add(k);
        }

        // One flat list of keyword indices, grouped by folded prefix; longest first at one position (the order the
        // scanner has always received hits in). A four-character prefix never equals a three-character one (a folded
        // character is never 0), so both kinds share one table.
        var groups = byFour.Select(p => (p.Key, Keywords: p.Value.OrderByDescending(k => _keywords[k].Length).ToList()))
            .Concat(byThree.Select(p => (p.Key, Keywords: p.Value)))
            .ToList();
        _prefixKeywords = [.. groups.SelectMany(g => g.Keywords)];
        _prefixes = new PrefixTable(groups.Select(g => (g.Key, g.Keywords.Count)).ToList());
        _lowerKeywords = [.. _keywords.Select(k => k.ToLowerInvariant())];
        _secondWords = new ulong[_keywords.Length];
        _secondMasks = new ulong[_keywords.Length];
        for (var k = 0; k < _keywords.Length; k++)
        {
            for (var lane = 0; lane < 4 && 4 + lane < _keywords[k].Length; lane++)
            {
                _secondWords[k] |= ((ulong)(uint)((_keywords[k][4 + lane] | 0x20) & 0x7F)) << (16 * lane);
                _secondMasks[k] |= 0xFFFFUL << (16 * lane);
            }
        }

        if (fallback.Count > 0)
        {
            _fallback = SearchValues.Create([.. fallback], StringComparison.OrdinalIgnoreCase);
        }
    }

    /// <summary>The keywords, in the order given (a hit's <see cref="KeywordHit.Keyword"/> indexes this list).</summary>
    public IReadOnlyList<string> Keywords => _keywords;

    /// <summary>Appends every (position, keyword) occurrence in <paramref name="text"/>, ordered by position
    /// (positions are relative to the span).</summary>
    public void FindAll(ReadOnlySpan<char> text, List<KeywordHit> hits)
    {
        if (text.Length >= 3)
        {
            FindAsciiKeywords(text, hits);
        }

        if (_fallback is not null)
        {
            var before = hits.Count;
            FindFallbackKeywords(text, hits);
            if (hits.Count > before)
            {
                hits.Sort(static (a, b) => a.Position != b.Position ? a.Position.CompareTo(b.Position) : a.Keyword.CompareTo(b.Keyword));
            }
        }
    }

    private void FindAsciiKeywords(ReadOnlySpan<char> text, List<KeywordHit> hits)
    {
        var i = _useVector ? FindCandidatesAvx2(text, hits) : 0;
        FindCandidatesScalar(text, i, hits);

        // The last three positions hold fewer than four characters: only a three-character keyword fits, at the first.
        var tail = text.Length - 3;
        Verify(text, tail, Fold4(text[tail], text[tail + 1], text[tail + 2], '\0') & ThreeLanes, hits);
    }

    /// <summary>Positions [<paramref name="from"/>, length − 4], one at a time (the reference for the vector path).</summary>
    private void FindCandidatesScalar(ReadOnlySpan<char> text, int from, List<KeywordHit> hits)
    {
        ref var start = ref MemoryMarshal.GetReference(text);
        for (var i = from; i <= text.Length - 4; i++)
        {
            ref var at = ref Unsafe.Add(ref start, i);
            var key3 = Key3(at, Unsafe.Add(ref at, 1), Unsafe.Add(ref at, 2));
            if (TestBit(_fourBits, Hash4(key3, Fold(Unsafe.Add(ref at, 3)))))
            {
                Verify(text, i, (Read4(ref at) | FoldOr) & FoldAnd, hits);
            }
        }
    }

    /// <summary>
    /// The bitmap test of <see cref="FindCandidatesScalar"/> for eight positions at a time: the characters at
    /// offsets 0–3 of each position are widened to 32-bit lanes, folded, packed into the four-character key, hashed
    /// (one multiplication) and looked up with one gather. Returns the first position it did not test.
    /// </summary>
    private unsafe int FindCandidatesAvx2(ReadOnlySpan<char> text, List<KeywordHit> hits)
    {
        // A block of positions i..i+7 reads the characters i..i+10.
        const int Block = 8;
        const int Reach = Block + 3;
        var i = 0;
        if (text.Length < Reach)
        {
            return 0;
        }

        var foldOr = Vector256.Create(0x20);
        var foldAnd = Vector256.Create(0x7F);
        var multiplier4 = Vector256.Create(Multiplier4);
        var low5 = Vector256.Create(31u);
        var one = Vector256.Create(1u);
        fixed (char* chars = text)
        fixed (int* four = _fourBits)
        {
            for (; i + Reach <= text.Length; i += Block)
            {
                var p = (ushort*)chars + i;
                var c0 = (Avx2.ConvertToVector256Int32(Sse2.LoadVector128(p)) | foldOr) & foldAnd;
                var c1 = (Avx2.ConvertToVector256Int32(Sse2.LoadVector128(p + 1)) | foldOr) & foldAnd;
                var c2 = (Avx2.ConvertToVector256Int32(Sse2.LoadVector128(p + 2)) | foldOr) & foldAnd;
                var c3 = (Avx2.ConvertToVector256Int32(Sse2.LoadVector128(p + 3)) | foldOr) & foldAnd;
                var key3 = (c0 | Avx2.ShiftLeftLogical(c1, 7) | Avx2.ShiftLeftLogical(c2, 14)).AsUInt32();
                var key4 = key3 | Avx2.ShiftLeftLogical(c3, 21).AsUInt32();
                var h4 = Avx2.ShiftRightLogical(Avx2.MultiplyLow(key4, multiplier4), 32 - HashBits);
                var word4 = Avx2.GatherVector256(four, Avx2.ShiftRightLogical(h4, 5).AsInt32(), 4).AsUInt32();
                var bits = Avx2.ShiftRightLogicalVariable(word4, h4 & low5) & one;
                var mask = (uint)Avx.MoveMask(Avx2.CompareEqual(bits, one).AsSingle());
                while (mask != 0)
                {
                    var at = i + BitOperations.TrailingZeroCount(mask);
                    mask &= mask - 1;
                    Verify(text, at, (Read4(ref Unsafe.AsRef<char>(chars + at)) | FoldOr) & FoldAnd, hits);
                }
            }
        }

        return i;
    }

    /// <summary>Appends the keywords that really start at <paramref name="i"/> (<paramref name="word"/>: the folded
    /// characters there, four or, at the text's end, three).</summary>
    private void Verify(ReadOnlySpan<char> text, int i, ulong word, List<KeywordHit> hits)
    {
        var rest = text[i..];
        if (rest.Length >= 4 && _prefixes.Find(word) is var (from, count) && count > 0)
        {
            AddMatching(rest, i, from, count, hits);
        }

        if (_prefixes.Find(word & ThreeLanes) is var (from3, count3) && count3 > 0)
        {
            AddMatching(rest, i, from3, count3, hits);
        }
    }

    private void AddMatching(ReadOnlySpan<char> rest, int i, int from, int count, List<KeywordHit> hits)
    {
        // Keywords of one prefix often share more ("secret", "secret_", "secret-access-key"…): the folded characters
        // 4–7 of the text, compared with each keyword's under a mask, reject most of them with one comparison.
        var second = rest.Length >= 8 ? (Read4(ref Unsafe.AsRef(in rest[4])) | FoldOr) & FoldAnd : 0;
        for (var n = from; n < from + count; n++)
        {
            var k = _prefixKeywords[n];
            if (rest.Length >= 8 && (second & _secondMasks[k]) != _secondWords[k])
            {
                continue;
            }

            if (StartsWithAsciiIgnoreCase(rest, _lowerKeywords[k]))
            {
                hits.Add(new KeywordHit(i, k));
            }
        }
    }

    /// <summary>
    /// <c>text.StartsWith(keyword, OrdinalIgnoreCase)</c> for an ASCII keyword given in lower case, without the
    /// general comparison's set-up: most candidates differ within a few characters. A non-ASCII character in the text
    /// defers to the framework's comparison, so the answer is always exactly its answer.
    /// </summary>
    private static bool StartsWithAsciiIgnoreCase(ReadOnlySpan<char> text, string lowerKeyword)
    {
        if (text.Length < lowerKeyword.Length)
        {
            return false;
        }

        for (var j = 0; j < lowerKeyword.Length; j++)
        {
            var t = text[j];
            var k = lowerKeyword[j];
            if (t == k || ((t | 0x20) == k && char.IsAsciiLetterLower(k)))
            {
                continue;
            }

            return !char.IsAscii(t) && text.StartsWith(lowerKeyword, StringComparison.OrdinalIgnoreCase);
        }

        return true;
    }

    private void FindFallbackKeywords(ReadOnlySpan<char> text, List<KeywordHit> hits)
    {
        var pos = 0;
        while (pos < text.Length)
        {
            var rel = text[pos..].IndexOfAny(_fallback!);
            if (rel < 0)
            {
                return;
            }

            var at = pos + rel;
            var rest = text[at..];
            for (var k = 0; k < _keywords.Length; k++)
            {
                var keyword = _keywords[k];
                if ((keyword.Length < 3 || !Ascii.IsValid(keyword)) && rest.StartsWith(keyword, StringComparison.OrdinalIgnoreCase))
                {
                    hits.Add(new KeywordHit(at, k));
                }
            }

            pos = at + 1;
        }
    }

    /// <summary>The four UTF-16 code units at <paramref name="at"/> as one word, the first in the low 16 bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Read4(ref char at)
    {
        if (BitConverter.IsLittleEndian)
        {
            return Unsafe.ReadUnaligned<ulong>(ref Unsafe.As<char, byte>(ref at));
        }

        return at | ((ulong)Unsafe.Add(ref at, 1) << 16) | ((ulong)Unsafe.Add(ref at, 2) << 32) | ((ulong)Unsafe.Add(ref at, 3) << 48);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Fold(char c) => (uint)((c | 0x20) & 0x7F);

    /// <summary>Three folded characters as one 21-bit key (the vector path builds the same key per lane).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Key3(char a, char b, char c) => Fold(a) | (Fold(b) << 7) | (Fold(c) << 14);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Hash4(uint key3, uint fourth) => ((key3 | (fourth << 21)) * Multiplier4) >> (32 - HashBits);

    private static void SetBit(int[] bits, uint hash) => bits[hash >> 5] |= 1 << (int)(hash & 31);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TestBit(int[] bits, uint hash) => ((Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(bits), (int)(hash >> 5)) >> (int)(hash & 31)) & 1) != 0;

    private static ulong Fold4(char a, char b, char c, char d) =>
        ((a | ((ulong)b << 16) | ((ulong)c << 32) | ((ulong)d << 48)) | FoldOr) & FoldAnd;

}

/// <summary>
/// Open-addressing map from a folded keyword prefix (never 0) to its run in a flat keyword list: one multiplication and
/// usually one probe of a small array, cheaper than a dictionary on the ~3 % of positions that reach it.
/// </summary>
internal sealed class PrefixTable
{
    private readonly ulong[] _keys;
    private readonly int[] _from;
    private readonly int[] _count;
    private readonly int _shift;

    /// <summary>Runs follow one another in the order given: group n starts where group n − 1 ends.</summary>
    public PrefixTable(IReadOnlyList<(ulong Key, int Count)> groups)
    {
        ArgumentNullException.ThrowIfNull(groups);
        var bits = 4;
        while ((1 << bits) < groups.Count * 4)
        {
            bits++;
        }

        _keys = new ulong[1 << bits];
        _from = new int[1 << bits];
        _count = new int[1 << bits];
        _shift = 64 - bits;
        var from = 0;
        foreach (var (key, count) in groups)
        {
            var slot = Slot(key);
            while (_keys[slot] != 0)
            {
                slot = (slot + 1) & (_keys.Length - 1);
            }

            _keys[slot] = key;
            _from[slot] = from;
            _count[slot] = count;
            from += count;
        }
    }

    /// <summary>The run of <paramref name="key"/>, or a count of 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public (int From, int Count) Find(ulong key)
    {
        for (var slot = Slot(key); ; slot = (slot + 1) & (_keys.Length - 1))
        {
            var found = _keys[slot];
            if (found == key)
            {
                return (_from[slot], _count[slot]);
            }

            if (found == 0)
            {
                return (0, 0);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Slot(ulong key) => (int)((key * 0x9E37_79B9_7F4A_7C15UL) >> _shift);
}

/// <summary>One keyword occurrence: its position and the keyword's index in <see cref="KeywordMatcher.Keywords"/>.</summary>
internal readonly record struct KeywordHit(int Position, int Keyword);

using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Airlock.Protocols.Json;

/// <summary>
/// A JSON syntax checker (RFC 8259 grammar) for bytes already known to be valid UTF-8, written to accept exactly
/// what <see cref="System.Text.Json.Utf8JsonReader"/> accepts with comments and trailing commas disallowed, and no
/// more: whitespace is space, tab, LF and CR; strings hold no byte below 0x20 and only the escapes <c>\" \\ \/ \b
/// \f \n \r \t \uXXXX</c> (hex digits only; like the reader, it does not pair surrogates); numbers are
/// <c>-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?</c>; containers nest at most <c>maxDepth</c> deep, counted the
/// reader's way (a container opened while <c>maxDepth</c> are open is too deep).
/// It exists for speed: the reader validates a string's bytes one at a time once the string holds an escape, and
/// request bodies are mostly long escaped strings; here the bytes between escapes are compared 32 at a time. It
/// allocates nothing and never says why it refuses: a caller that needs the reason (or meets a refusal) asks the
/// reader, so the reader's verdict is the only one that ever reaches a client.
/// </summary>
public static class JsonSyntax
{
    /// <summary>The deepest nesting the checker follows (it keeps one byte per open container on the stack).</summary>
    public const int MaxSupportedDepth = 1024;

    // Where a string's plain run stops: its closing quote, an escape, or a byte the grammar forbids in strings.
    private static ReadOnlySpan<byte> StopTable =>
    [
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
        0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ];

    /// <summary>
    /// Checks the value starting at <paramref name="position"/> (its first byte, after any whitespace), where
    /// <paramref name="depth"/> containers are already open; on success <paramref name="position"/> is just after it.
    /// </summary>
    /// <returns>False when the value is not valid JSON, nests deeper than <paramref name="maxDepth"/>, or
    /// <paramref name="maxDepth"/> exceeds <see cref="MaxSupportedDepth"/>.</returns>
    public static bool TrySkipValue(ReadOnlySpan<byte> json, ref int position, int depth, int maxDepth)
    {
        if (maxDepth > MaxSupportedDepth || depth < 0 || depth > maxDepth)
        {
            return false;
        }
        // One entry per container opened here: 1 for an object, 0 for an array.
        Span<byte> open = stackalloc byte[maxDepth - depth + 1];
        var top = 0;
        var i = position;
        while (true)
        {
            // A value starts at i.
            if ((uint)i >= (uint)json.Length)
            {
                return false;
            }
            switch (json[i])
            {
                case (byte)'"':
                    if (!TrySkipString(json, ref i, out _))
                    {
                        return false;
                    }
                    break;
                case (byte)'{':
                    if (depth + top >= maxDepth)
                    {
                        return false;
                    }
                    open[top++] = 1;
                    i = SkipWhitespace(json, i + 1);
                    if ((uint)i < (uint)json.Length && json[i] == '}')
                    {
                        top--;
                        i++;
                        break;
                    }
                    if (!TryMemberName(json, ref i))
                    {
                        return false;
                    }
                    continue;
                case (byte)'[':
                    if (depth + top >= maxDepth)
                    {
                        return false;
                    }
                    open[top++] = 0;
                    i = SkipWhitespace(json, i + 1);
                    if ((uint)i < (uint)json.Length && json[i] == ']')
                    {
                        top--;
                        i++;
                        break;
                    }
                    continue;
                case (byte)'t':
                    if (!json[i..].StartsWith("true"u8))
                    {
                        return false;
                    }
                    i += 4;
                    break;
                case (byte)'f':
                    if (!json[i..].StartsWith("false"u8))
                    {
                        return false;
                    }
                    i += 5;
                    break;
                case (byte)'n':
                    if (!json[i..].StartsWith("null"u8))
                    {
                        return false;
                    }
                    i += 4;
                    break;
                default:
                    if (!TrySkipNumber(json, ref i))
                    {
                        return false;
                    }
                    break;
            }

            // A value ended just before i: close containers until one continues with a comma.
            while (true)
            {
                if (top == 0)
                {
                    position = i;
                    return true;
                }
                i = SkipWhitespace(json, i);
                if ((uint)i >= (uint)json.Length)
                {
                    return false;
                }
                var next = json[i];
                if (next == ',')
                {
                    i = SkipWhitespace(json, i + 1);
                    if (open[top - 1] == 1 && !TryMemberName(json, ref i))
                    {
                        return false;
                    }
                    break;
                }
                if (next != (open[top - 1] == 1 ? (byte)'}' : (byte)']'))
                {
                    return false;
                }
                top--;
                i++;
            }
        }
    }

    /// <summary>
    /// Checks the string whose opening quote is at <paramref name="position"/> (false when there is none); on success <paramref name="position"/>
    /// is just after its closing quote and <paramref name="escaped"/> says whether it holds an escape.
    /// </summary>
    public static bool TrySkipString(ReadOnlySpan<byte> json, ref int position, out bool escaped)
    {
        escaped = false;
        // Also keeps the unchecked vector loads in NextStringStop inside the span whatever a caller passes.
        if ((uint)position >= (uint)json.Length || json[position] != '"')
        {
            return false;
        }
        var i = position + 1;
        while (true)
        {
            i = NextStringStop(json, i);
            if (i < 0)
            {
                return false;
            }
            var stop = json[i];
            if (stop == '"')
            {
                position = i + 1;
                return true;
            }
            if (stop != '\\' || (uint)(i + 1) >= (uint)json.Length)
            {
                return false;
            }
            escaped = true;
            switch (json[i + 1])
            {
                case (byte)'"' or (byte)'\\' or (byte)'/' or (byte)'b' or (byte)'f' or (byte)'n' or (byte)'r' or (byte)'t':
                    i += 2;
                    break;
                case (byte)'u':
                    if ((uint)(i + 5) >= (uint)json.Length
                        || !IsHex(json[i + 2]) || !IsHex(json[i + 3]) || !IsHex(json[i + 4]) || !IsHex(json[i + 5]))
                    {
                        return false;
                    }
                    i += 6;
                    break;
                default:
                    return false;
            }
        }
    }

    /// <summary>The first offset at or after <paramref name="position"/> that is not JSON whitespace.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int SkipWhitespace(ReadOnlySpan<byte> json, int position)
    {
        while ((uint)position < (uint)json.Length && json[position] is (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t')
        {
            position++;
        }
        return position;
    }

    /// <summary>
    /// The offset of the first byte at or after <paramref name="i"/> that stops a string's plain run (<c>"</c>,
    /// <c>\</c> or a byte below 0x20), or -1. Compares 32 or 16 bytes at a time by hand: most runs are short (member
    /// names, the text between two escapes in code), where <c>IndexOfAny(SearchValues)</c>'s setup per call costs
    /// more than the compares (on the recorded body ~8 % less CPU for the whole pass).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int NextStringStop(ReadOnlySpan<byte> json, int i)
    {
        ref var first = ref MemoryMarshal.GetReference(json);
        if (Vector256.IsHardwareAccelerated)
        {
            while (i <= json.Length - Vector256<byte>.Count)
            {
                var bytes = Vector256.LoadUnsafe(ref first, (nuint)i);
                var stops = Vector256.Equals(bytes, Vector256.Create((byte)'"'))
                    | Vector256.Equals(bytes, Vector256.Create((byte)'\\'))
                    | Vector256.LessThan(bytes, Vector256.Create((byte)0x20));
                if (stops != Vector256<byte>.Zero)
                {
                    return i + BitOperations.TrailingZeroCount(stops.ExtractMostSignificantBits());
                }
                i += Vector256<byte>.Count;
            }
        }
        if (Vector128.IsHardwareAccelerated)
        {
            while (i <= json.Length - Vector128<byte>.Count)
            {
                var bytes = Vector128.LoadUnsafe(ref first, (nuint)i);
                var stops = Vector128.Equals(bytes, Vector128.Create((byte)'"'))
                    | Vector128.Equals(bytes, Vector128.Create((byte)'\\'))
                    | Vector128.LessThan(bytes, Vector128.Create((byte)0x20));
                if (stops != Vector128<byte>.Zero)
                {
                    return i + BitOperations.TrailingZeroCount(stops.ExtractMostSignificantBits());
                }
                i += Vector128<byte>.Count;
            }
        }
        for (; (uint)i < (uint)json.Length; i++)
        {
            if (StopTable[json[i]] != 0)
            {
                return i;
            }
        }
        return -1;
    }

    // A member name, whitespace, the colon and whitespace: on success i is at the member's value.
    private static bool TryMemberName(ReadOnlySpan<byte> json, ref int i)
    {
        if ((uint)i >= (uint)json.Length || json[i] != '"' || !TrySkipString(json, ref i, out _))
        {
            return false;
        }
        i = SkipWhitespace(json, i);
        if ((uint)i >= (uint)json.Length || json[i] != ':')
        {
            return false;
        }
        i = SkipWhitespace(json, i + 1);
        return true;
    }

    private static bool TrySkipNumber(ReadOnlySpan<byte> json, ref int position)
    {
        var i = position;
        if (json[i] == '-')
        {
            i++;
        }
        if ((uint)i >= (uint)json.Length)
        {
            return false;
        }
        if (json[i] == '0')
        {
            i++;
        }
        else if (IsDigit(json[i]))
        {
            i = SkipDigits(json, i + 1);
        }
        else
        {
            return false;
        }
        if ((uint)i < (uint)json.Length && json[i] == '.')
        {
            if ((uint)(i + 1) >= (uint)json.Length || !IsDigit(json[i + 1]))
            {
                return false;
            }
            i = SkipDigits(json, i + 2);
        }
        if ((uint)i < (uint)json.Length && json[i] is (byte)'e' or (byte)'E')
        {
            i++;
            if ((uint)i < (uint)json.Length && json[i] is (byte)'+' or (byte)'-')
            {
                i++;
            }
            if ((uint)i >= (uint)json.Length || !IsDigit(json[i]))
            {
                return false;
            }
            i = SkipDigits(json, i + 1);
        }
        position = i;
        return true;
    }

    private static int SkipDigits(ReadOnlySpan<byte> json, int i)
    {
        while ((uint)i < (uint)json.Length && IsDigit(json[i]))
        {
            i++;
        }
        return i;
    }

    private static bool IsDigit(byte b) => (uint)(b - '0') <= 9;

    private static bool IsHex(byte b) => (uint)(b - '0') <= 9 || (uint)((b | 0x20) - 'a') <= 'f' - 'a';
}

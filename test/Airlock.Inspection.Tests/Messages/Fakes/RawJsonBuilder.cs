using System.Globalization;
using System.Text;

namespace Airlock.Inspection.Tests.Messages.Fakes;

/// <summary>How the inspector must treat a string slot of a built body.</summary>
public enum SlotKind
{
    /// <summary>Conversation content: scanned and redacted.</summary>
    Scanned,

    /// <summary>Outside conversation content (tools, metadata, ids, base64 media, redacted thinking): untouched.</summary>
    Ignored,

    /// <summary>Inside a signed thinking block: scanned, never redacted.</summary>
    Signed,
}

/// <summary>A JSON string written by <see cref="RawJsonBuilder"/>: raw byte range of its content (between quotes).</summary>
public sealed record Slot(int Start, int End, SlotKind Kind, string Location);

/// <summary>
/// Writes JSON text byte by byte with its own escaping choices (so tests control exactly which
/// characters are escaped) and records where every string's content sits in the output.
/// </summary>
public sealed class RawJsonBuilder
{
    private readonly List<byte> _bytes = [];
    private readonly Random _random;

    public RawJsonBuilder(Random random)
    {
        _random = random;
    }

    public List<Slot> Slots { get; } = [];

    public int Length => _bytes.Count;

    /// <summary>Share of plain ASCII letters written as <c>\u00XX</c> escapes (legal, and some clients do it).</summary>
    public double EscapeLetters { get; set; }

    /// <summary>Write non-ASCII characters as <c>\uXXXX</c> escapes (surrogate pairs as two escapes).</summary>
    public bool EscapeNonAscii { get; set; }

    public RawJsonBuilder Raw(string json)
    {
        _bytes.AddRange(Encoding.UTF8.GetBytes(json));
        return this;
    }

    public RawJsonBuilder Str(string value, SlotKind kind = SlotKind.Ignored, string location = "")
    {
        _bytes.Add((byte)'"');
        int start = _bytes.Count;
        _bytes.AddRange(Encoding.UTF8.GetBytes(Escape(value)));
        Slots.Add(new Slot(start, _bytes.Count, kind, location));
        _bytes.Add((byte)'"');
        return this;
    }

    /// <summary>Writes <c>"name":"value"</c>.</summary>
    public RawJsonBuilder Prop(string name, string value, SlotKind kind = SlotKind.Ignored, string location = "")
    {
        Str(name).Raw(":");
        return Str(value, kind, location);
    }

    public byte[] ToArray() => [.. _bytes];

    private string Escape(string value)
    {
        var sb = new StringBuilder(value.Length + 16);
        foreach (char c in value)
        {
            switch (c)
            {
                case '"':
                    sb.Append("\\\"");
                    break;
                case '\\':
                    sb.Append("\\\\");
                    break;
                case '\n':
                    sb.Append("\\n");
                    break;
                case '\t':
                    sb.Append("\\t");
                    break;
                case '\r':
                    sb.Append("\\r");
                    break;
                default:
                    if (c < 0x20 || (c > 0x7E && EscapeNonAscii) || (char.IsAsciiLetter(c) && _random.NextDouble() < EscapeLetters))
                    {
                        sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        return sb.ToString();
    }
}

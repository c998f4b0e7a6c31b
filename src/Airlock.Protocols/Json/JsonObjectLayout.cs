using System.Text;
using System.Text.Json;

namespace Airlock.Protocols.Json;

/// <summary>
/// Where the top-level members of a JSON object lie in its bytes: for each member the offset of its name, of its
/// value and of the byte after the value. Taken once (by the gateway's validation pass, or by <see cref="Read"/>),
/// it lets <see cref="TopLevelSplicer"/> find and splice members without reading the body again; a 50 KB body's
/// every further walk costs as much as the validation itself. Valid only for the exact bytes it was taken from.
/// </summary>
public sealed class JsonObjectLayout
{
    private readonly List<Member> _members;

    private JsonObjectLayout(int bodyLength, int open, List<Member> members)
    {
        BodyLength = bodyLength;
        Open = open;
        _members = members;
    }

    /// <summary>One top-level member.</summary>
    /// <param name="Start">Offset of the name's opening quote.</param>
    /// <param name="NameLength">Length of the name's raw (still escaped) bytes between the quotes.</param>
    /// <param name="NameEscaped">The raw name holds an escape sequence (compare it decoded).</param>
    /// <param name="ValueStart">Offset of the value's first byte.</param>
    /// <param name="End">Offset just after the value's last byte.</param>
    public readonly record struct Member(int Start, int NameLength, bool NameEscaped, int ValueStart, int End);

    /// <summary>Length of the body the layout was taken from (a guard against using it on other bytes).</summary>
    public int BodyLength { get; }

    /// <summary>Offset of the object's opening brace.</summary>
    public int Open { get; }

    /// <summary>The members in body order.</summary>
    public IReadOnlyList<Member> Members => _members;

    /// <summary>Reads the layout of <paramref name="body"/>, which must be one JSON object.</summary>
    /// <exception cref="JsonException">The body is not a JSON object (or not valid JSON).</exception>
    public static JsonObjectLayout Read(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 1024 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("body is not a JSON object");
        }
        var builder = new Builder(body.Length, (int)reader.TokenStartIndex);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            builder.Name(ref reader);
            reader.Read();
            builder.Value(ref reader);
            reader.Skip();
            builder.End(ref reader);
        }
        return builder.Build();
    }

    /// <summary>The index of the member called <paramref name="name"/>, or -1.</summary>
    public int IndexOf(ReadOnlySpan<byte> body, string name)
    {
        for (var i = 0; i < _members.Count; i++)
        {
            if (NameEquals(body, _members[i], name))
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>The raw value of the member called <paramref name="name"/>, or empty when absent.</summary>
    public ReadOnlySpan<byte> RawValue(ReadOnlySpan<byte> body, string name)
    {
        var index = IndexOf(body, name);
        return index < 0 ? default : body[_members[index].ValueStart.._members[index].End];
    }

    /// <summary>True when <paramref name="member"/> of <paramref name="body"/> is called <paramref name="name"/>.</summary>
    public static bool NameEquals(ReadOnlySpan<byte> body, Member member, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var raw = body.Slice(member.Start + 1, member.NameLength);
        if (member.NameEscaped)
        {
            return string.Equals(Decode(raw), name, StringComparison.Ordinal);
        }
        if (raw.Length != name.Length)
        {
            // For ASCII names byte count and char count agree; a non-ASCII name is compared decoded.
            return !Ascii.IsValid(name) && string.Equals(Encoding.UTF8.GetString(raw), name, StringComparison.Ordinal);
        }
        return Ascii.IsValid(name) ? Ascii.Equals(raw, name) : string.Equals(Encoding.UTF8.GetString(raw), name, StringComparison.Ordinal);
    }

    private static string Decode(ReadOnlySpan<byte> rawName)
    {
        // The raw bytes are a JSON string's content: let the reader unescape them.
        var quoted = new byte[rawName.Length + 2];
        quoted[0] = (byte)'"';
        rawName.CopyTo(quoted.AsSpan(1));
        quoted[^1] = (byte)'"';
        var reader = new Utf8JsonReader(quoted);
        reader.Read();
        return reader.GetString()!;
    }

    /// <summary>
    /// Collects a layout while a caller walks the object with its own <see cref="Utf8JsonReader"/> (so the layout
    /// costs no second pass): <see cref="Name"/> on each top-level property name, <see cref="Value"/> on the value's
    /// first token, <see cref="End"/> once the reader stands on the value's last token.
    /// </summary>
    public struct Builder(int bodyLength, int open)
    {
        private readonly List<Member> _members = new(16);
        private int _start;
        private int _nameLength;
        private bool _nameEscaped;
        private int _valueStart;

        /// <summary>The reader stands on a top-level property name.</summary>
        public void Name(ref Utf8JsonReader reader)
        {
            _start = (int)reader.TokenStartIndex;
            _nameLength = reader.ValueSpan.Length;
            _nameEscaped = reader.ValueIsEscaped;
        }

        /// <summary>The reader stands on the first token of that member's value.</summary>
        public void Value(ref Utf8JsonReader reader) => _valueStart = (int)reader.TokenStartIndex;

        /// <summary>The reader stands on the last token of that member's value.</summary>
        public readonly void End(ref Utf8JsonReader reader) =>
            _members.Add(new Member(_start, _nameLength, _nameEscaped, _valueStart, (int)reader.BytesConsumed));

        /// <summary>Adds a member found without a reader (the checker of <see cref="JsonSyntax"/>).</summary>
        public readonly void Add(Member member) => _members.Add(member);

        /// <summary>The layout collected.</summary>
        public readonly JsonObjectLayout Build() => new(bodyLength, open, _members);
    }
}

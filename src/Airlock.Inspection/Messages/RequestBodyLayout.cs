using System.Text.Json;

namespace Airlock.Inspection.Messages;

/// <summary>
/// Where the top-level members of a request body lie, as a caller's validation pass found them (the gateway's
/// <c>MessagesRequestReader</c> takes them anyway). Given to <see cref="MessagesRequestInspector.Inspect"/>, it lets
/// the inspection read only the members it inspects (<c>messages</c>, <c>system</c>) instead of the whole body again:
/// a Claude Code body is two thirds <c>tools</c>, which nothing scans. Valid only for the exact bytes it was taken from.
/// </summary>
public sealed class RequestBodyLayout
{
    private readonly List<Member> _members;

    /// <summary>Starts an empty layout; add the members in body order with <see cref="Add"/>.</summary>
    /// <param name="bodyLength">Length of the body the members were found in.</param>
    /// <param name="validatedDepth">The nesting depth the caller's pass enforced on the whole body (its
    /// <see cref="JsonReaderOptions.MaxDepth"/>). When it is deeper than the inspector's own limit, the inspector still
    /// checks the members it does not inspect against its limit, as a whole-body walk would.</param>
    /// <param name="capacity">Expected number of members.</param>
    public RequestBodyLayout(int bodyLength, int validatedDepth, int capacity = 16)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bodyLength);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(validatedDepth);
        BodyLength = bodyLength;
        ValidatedDepth = validatedDepth;
        _members = new List<Member>(capacity);
    }

    /// <summary>One top-level member.</summary>
    /// <param name="Start">Offset of the name's opening quote.</param>
    /// <param name="NameLength">Length of the name's raw (still escaped) bytes between the quotes.</param>
    /// <param name="NameEscaped">The raw name holds an escape sequence.</param>
    /// <param name="ValueStart">Offset of the value's first byte.</param>
    /// <param name="End">Offset just after the value's last byte.</param>
    public readonly record struct Member(int Start, int NameLength, bool NameEscaped, int ValueStart, int End);

    /// <summary>Length of the body the layout was taken from.</summary>
    public int BodyLength { get; }

    /// <summary>Nesting depth the whole body was validated against.</summary>
    public int ValidatedDepth { get; }

    /// <summary>The members in body order.</summary>
    public IReadOnlyList<Member> Members => _members;

    /// <summary>
    /// The body stops being valid JSON after the last member (only in a layout the inspector read itself: the last
    /// member may then be cut short, its <see cref="Member.End"/> the body's end).
    /// </summary>
    internal bool Truncated { get; private set; }

    /// <summary>Adds the next member (body order).</summary>
    public void Add(Member member)
    {
        if (member.Start < 0 || member.NameLength < 0 || member.ValueStart <= member.Start + member.NameLength
            || member.End <= member.ValueStart || member.End > BodyLength
            || (_members.Count > 0 && member.Start < _members[^1].End))
        {
            throw new ArgumentOutOfRangeException(nameof(member), "member offsets out of order or outside the body");
        }

        _members.Add(member);
    }

    /// <summary>True when <paramref name="member"/>'s name, unescaped, is <paramref name="name"/>.</summary>
    internal static bool NameIs(ReadOnlySpan<byte> body, Member member, ReadOnlySpan<byte> name)
    {
        if (!member.NameEscaped)
        {
            return body.Slice(member.Start + 1, member.NameLength).SequenceEqual(name);
        }

        // The quoted name alone is a JSON string: the reader compares it unescaped, without allocating.
        var reader = new Utf8JsonReader(body.Slice(member.Start, member.NameLength + 2));
        return reader.Read() && reader.ValueTextEquals(name);
    }

    /// <summary>The index of the member whose value holds <paramref name="offset"/> (strictly inside), or -1.</summary>
    internal int IndexHolding(int offset)
    {
        for (var i = 0; i < _members.Count; i++)
        {
            if (_members[i].ValueStart < offset && offset < _members[i].End)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>
    /// Reads the layout of <paramref name="body"/> with the inspector's own depth limit (callers without a
    /// validation pass). Null when the body does not start with an object. Invalid JSON does not throw: the members
    /// before the error are listed, the one it cuts short ends at the body's end, and <see cref="Truncated"/> is set,
    /// so the walk reports what it found before the error, as a whole-body walk does.
    /// </summary>
    internal static RequestBodyLayout? Read(ReadOnlySpan<byte> body, int maxDepth)
    {
        var layout = new RequestBodyLayout(body.Length, maxDepth);
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = maxDepth });
        int start = -1, nameLength = 0, valueStart = -1;
        var nameEscaped = false;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                start = (int)reader.TokenStartIndex;
                nameLength = reader.ValueSpan.Length;
                nameEscaped = reader.ValueIsEscaped;
                valueStart = -1;
                reader.Read();
                valueStart = (int)reader.TokenStartIndex;
                reader.Skip();
                layout._members.Add(new Member(start, nameLength, nameEscaped, valueStart, (int)reader.BytesConsumed));
                valueStart = -1;
            }

            // Anything but whitespace after the closing brace is an error (the reader throws).
            reader.Read();
        }
        catch (JsonException)
        {
            if (valueStart >= 0)
            {
                layout._members.Add(new Member(start, nameLength, nameEscaped, valueStart, body.Length));
            }

            layout.Truncated = true;
        }

        return layout;
    }
}

using System.Text.Json;

namespace Airlock.Protocols.Json;

/// <summary>
/// Edits the top-level members of a JSON object by splicing bytes: named members are removed, new members are
/// inserted right after the opening brace, and every byte of every other member (names, values, nested
/// whitespace, key order, unknown fields) stays identical. Used to move a request between the Messages,
/// Bedrock and Vertex body shapes without re-serializing it.
/// </summary>
public static class TopLevelSplicer
{
    /// <summary>A member to insert: its name and its value as raw JSON (<c>"vertex-2023-10-16"</c>, <c>true</c>, <c>["a","b"]</c>).</summary>
    /// <param name="Name">Member name (plain ASCII; escaped as a JSON string).</param>
    /// <param name="RawValue">The value, already valid JSON.</param>
    public readonly record struct Insertion(string Name, ReadOnlyMemory<byte> RawValue);

    /// <summary>
    /// Returns <paramref name="body"/> without the members named in <paramref name="remove"/> and with
    /// <paramref name="insert"/> added first. The body must be a JSON object (already validated).
    /// </summary>
    /// <exception cref="JsonException">The body is not a JSON object.</exception>
    public static byte[] Edit(ReadOnlySpan<byte> body, IReadOnlyCollection<string> remove, IReadOnlyList<Insertion> insert) =>
        Edit(body, JsonObjectLayout.Read(body), remove, insert).ToArray();

    /// <summary>
    /// <see cref="Edit(ReadOnlySpan{byte}, IReadOnlyCollection{string}, IReadOnlyList{Insertion})"/> with the members
    /// already located (<paramref name="layout"/>, taken from these exact bytes): no further pass over the body, and
    /// one uninitialized output buffer the result is a slice of.
    /// </summary>
    public static ReadOnlyMemory<byte> Edit(ReadOnlySpan<byte> body, JsonObjectLayout layout, IReadOnlyCollection<string> remove, IReadOnlyList<Insertion> insert)
    {
        ArgumentNullException.ThrowIfNull(insert);
        var output = GC.AllocateUninitializedArray<byte>(EditedLengthBound(body.Length, insert));
        return output.AsMemory(0, Edit(body, layout, remove, insert, output));
    }

    /// <summary>
    /// The most bytes an edit of a <paramref name="bodyLength"/>-byte body inserting <paramref name="insert"/> can
    /// produce: the body, plus each insertion as <c>"name":value</c> with its comma (names are plain ASCII; a name
    /// needing escapes takes at most six bytes a char).
    /// </summary>
    public static int EditedLengthBound(int bodyLength, IReadOnlyList<Insertion> insert)
    {
        ArgumentNullException.ThrowIfNull(insert);
        var bound = bodyLength;
        foreach (var (name, value) in insert)
        {
            bound += (name.Length * 6) + value.Length + 4;
        }
        return bound;
    }

    /// <summary>
    /// The edit written into <paramref name="destination"/> (at least <see cref="EditedLengthBound"/> bytes, e.g. a pooled
    /// buffer, so a converted body costs no allocation); returns the length written.
    /// </summary>
    public static int Edit(ReadOnlySpan<byte> body, JsonObjectLayout layout, IReadOnlyCollection<string> remove, IReadOnlyList<Insertion> insert, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(layout);
        ArgumentNullException.ThrowIfNull(remove);
        ArgumentNullException.ThrowIfNull(insert);
        if (layout.BodyLength != body.Length)
        {
            throw new ArgumentException("the layout was taken from other bytes", nameof(layout));
        }
        if (destination.Length < EditedLengthBound(body.Length, insert))
        {
            throw new ArgumentException("the destination is shorter than EditedLengthBound", nameof(destination));
        }
        var length = 0;
        void Write(ReadOnlySpan<byte> bytes, Span<byte> output)
        {
            bytes.CopyTo(output[length..]);
            length += bytes.Length;
        }
        var members = layout.Members;
        var open = layout.Open;
        Write(body[..(open + 1)], destination);
        var written = 0;
        foreach (var (name, value) in insert)
        {
            if (written++ > 0)
            {
                Write(","u8, destination);
            }
            Write(StringLiteral(name), destination);
            Write(":"u8, destination);
            Write(value.Span, destination);
        }
        var brace = open + 1;
        var previousEnd = brace;
        foreach (var member in members)
        {
            if (Removed(body, member, remove))
            {
                previousEnd = -1;
                continue;
            }
            if (previousEnd == brace)
            {
                // Nothing of the original written yet: keep the whitespace the client put after the brace.
                if (written > 0)
                {
                    Write(","u8, destination);
                }
                Write(body[brace..member.End], destination);
            }
            else if (previousEnd >= 0)
            {
                // The member before this one was kept: the original separator (comma and whitespace) stays.
                Write(body[previousEnd..member.End], destination);
            }
            else
            {
                if (written > 0)
                {
                    Write(","u8, destination);
                }
                Write(body[member.Start..member.End], destination);
            }
            written++;
            previousEnd = member.End;
        }
        // Only whitespace lies between the last member and the closing brace: it, the brace and anything after stay.
        Write(body[(members.Count > 0 ? members[^1].End : brace)..], destination);
        return length;
    }

    private static bool Removed(ReadOnlySpan<byte> body, JsonObjectLayout.Member member, IReadOnlyCollection<string> remove)
    {
        foreach (var name in remove)
        {
            if (JsonObjectLayout.NameEquals(body, member, name))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The raw value of a top-level member, or empty when absent.</summary>
    public static ReadOnlySpan<byte> RawValue(ReadOnlySpan<byte> body, string name) => JsonObjectLayout.Read(body).RawValue(body, name);

    /// <summary>True when the object has a top-level member called <paramref name="name"/>.</summary>
    public static bool Has(ReadOnlySpan<byte> body, string name) => JsonObjectLayout.Read(body).IndexOf(body, name) >= 0;

    /// <summary>The strings of a top-level array of strings (e.g. Bedrock's <c>anthropic_beta</c>); empty when absent or not an array of strings.</summary>
    public static List<string> StringArray(ReadOnlySpan<byte> body, string name) => StringArray(body, JsonObjectLayout.Read(body), name);

    /// <summary><see cref="StringArray(ReadOnlySpan{byte}, string)"/> with the members already located.</summary>
    public static List<string> StringArray(ReadOnlySpan<byte> body, JsonObjectLayout layout, string name)
    {
        ArgumentNullException.ThrowIfNull(layout);
        var values = new List<string>();
        var raw = layout.RawValue(body, name);
        if (raw.IsEmpty)
        {
            return values;
        }
        var reader = new Utf8JsonReader(raw);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
        {
            return values;
        }
        while (reader.Read() && reader.TokenType == JsonTokenType.String)
        {
            values.Add(reader.GetString()!);
        }
        return values;
    }

    /// <summary>A JSON string literal for <paramref name="value"/> (quoted and escaped).</summary>
    public static byte[] StringLiteral(string value) => JsonSerializer.SerializeToUtf8Bytes(value);

    /// <summary>A JSON array of string literals.</summary>
    public static byte[] StringArrayLiteral(IEnumerable<string> values) => JsonSerializer.SerializeToUtf8Bytes(values.ToArray());
}

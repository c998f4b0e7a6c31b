using System.Buffers;
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
    public static byte[] Edit(ReadOnlySpan<byte> body, IReadOnlyCollection<string> remove, IReadOnlyList<Insertion> insert)
    {
        ArgumentNullException.ThrowIfNull(remove);
        ArgumentNullException.ThrowIfNull(insert);
        var members = Members(body, out var open, out var close);
        var output = new ArrayBufferWriter<byte>(body.Length + 256);
        output.Write(body[..(open + 1)]);
        var written = 0;
        foreach (var (name, value) in insert)
        {
            if (written++ > 0)
            {
                output.Write(","u8);
            }
            WriteName(output, name);
            output.Write(value.Span);
        }
        var brace = open + 1;
        var previousEnd = brace;
        foreach (var member in members)
        {
            if (remove.Contains(member.Name))
            {
                previousEnd = -1;
                continue;
            }
            if (previousEnd == brace)
            {
                // Nothing of the original written yet: keep the whitespace the client put after the brace.
                if (written > 0)
                {
                    output.Write(","u8);
                }
                output.Write(body[brace..member.End]);
            }
            else if (previousEnd >= 0)
            {
                // The member before this one was kept: the original separator (comma and whitespace) stays.
                output.Write(body[previousEnd..member.End]);
            }
            else
            {
                if (written > 0)
                {
                    output.Write(","u8);
                }
                output.Write(body[member.Start..member.End]);
            }
            written++;
            previousEnd = member.End;
        }
        // Only whitespace lies between the last member and the closing brace: it, the brace and anything after stay.
        _ = close;
        output.Write(body[(members.Count > 0 ? members[^1].End : brace)..]);
        return output.WrittenSpan.ToArray();
    }

    /// <summary>The raw value of a top-level member, or empty when absent.</summary>
    public static ReadOnlySpan<byte> RawValue(ReadOnlySpan<byte> body, string name)
    {
        foreach (var member in Members(body, out _, out _))
        {
            if (member.Name == name)
            {
                return body[member.ValueStart..member.End];
            }
        }
        return default;
    }

    /// <summary>True when the object has a top-level member called <paramref name="name"/>.</summary>
    public static bool Has(ReadOnlySpan<byte> body, string name)
    {
        foreach (var member in Members(body, out _, out _))
        {
            if (member.Name == name)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The strings of a top-level array of strings (e.g. Bedrock's <c>anthropic_beta</c>); empty when absent or not an array of strings.</summary>
    public static List<string> StringArray(ReadOnlySpan<byte> body, string name)
    {
        var values = new List<string>();
        var raw = RawValue(body, name);
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

    private static void WriteName(ArrayBufferWriter<byte> output, string name)
    {
        output.Write(StringLiteral(name));
        output.Write(":"u8);
    }

    private readonly record struct Member(string Name, int Start, int ValueStart, int End);

    private static List<Member> Members(ReadOnlySpan<byte> body, out int open, out int close)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 1024 });
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            throw new JsonException("body is not a JSON object");
        }
        open = (int)reader.TokenStartIndex;
        var members = new List<Member>();
        close = -1;
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == 0)
            {
                close = (int)reader.TokenStartIndex;
                break;
            }
            // At depth 1 the reader stands on a property name.
            var name = reader.GetString()!;
            var start = (int)reader.TokenStartIndex;
            reader.Read();
            var valueStart = (int)reader.TokenStartIndex;
            reader.Skip();
            members.Add(new Member(name, start, valueStart, (int)reader.BytesConsumed));
        }
        return members;
    }
}

using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Airlock.Protocols.Aws.Bedrock;

/// <summary>A Bedrock-door request body turned into a Messages body.</summary>
/// <param name="Body">The Messages body.</param>
/// <param name="Betas">The <c>anthropic_beta</c> values the body carried, to send as the <c>anthropic-beta</c> header.</param>
/// <param name="AnthropicVersion">The body's <c>anthropic_version</c>, or null.</param>
public sealed record BedrockToMessagesResult(byte[] Body, IReadOnlyList<string> Betas, string? AnthropicVersion);

/// <summary>
/// Converts request bodies between the Anthropic Messages API and Bedrock InvokeModel by splicing bytes: the top-level
/// members that differ are cut out or added, and every other byte (unknown fields, their order, whitespace, escapes)
/// stays identical (DESIGN: never re-serialize). Bedrock's body is the Messages body without <c>model</c> and
/// <c>stream</c>, with <c>anthropic_version: "bedrock-2023-05-31"</c> and the betas as an <c>anthropic_beta</c> array
/// (AWS user guide, "Anthropic Claude Messages API" request parameters).
/// </summary>
public static class BedrockRequestBody
{
    private static readonly JsonWriterOptions s_writerOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// Messages → Bedrock: removes top-level <c>model</c> and <c>stream</c>, appends
    /// <c>"anthropic_version":"bedrock-2023-05-31"</c> when absent, and puts <paramref name="betas"/> (the
    /// <c>anthropic-beta</c> header values the upstream accepts, see <see cref="SplitBetaHeader"/>) into
    /// <c>anthropic_beta</c>: appended as a new array, or merged (existing values first, no duplicates) when the body
    /// already has one. No betas and no existing array → no <c>anthropic_beta</c> member.
    /// </summary>
    public static bool TryFromMessages(ReadOnlySpan<byte> messagesBody, IReadOnlyList<string> betas, out byte[] bedrockBody, out string? error)
    {
        ArgumentNullException.ThrowIfNull(betas);
        bedrockBody = [];
        if (!TryScan(messagesBody, out var scan, out error))
        {
            return false;
        }
        var remove = new List<Member>(4);
        Member? existingBetas = null;
        string[] existingBetaValues = [];
        var hasVersion = false;
        foreach (var member in scan.Members)
        {
            var name = member.Name(messagesBody);
            if (name.SequenceEqual("model"u8) || name.SequenceEqual("stream"u8))
            {
                remove.Add(member);
            }
            else if (name.SequenceEqual("anthropic_version"u8))
            {
                hasVersion = true;
            }
            else if (name.SequenceEqual("anthropic_beta"u8))
            {
                if (!TryReadStringArray(messagesBody[member.ValueStart..member.ValueEnd], out existingBetaValues))
                {
                    error = "anthropic_beta: must be an array of strings";
                    return false;
                }
                existingBetas = member;
            }
        }
        var merged = existingBetaValues.Concat(betas.Where(b => !existingBetaValues.Contains(b, StringComparer.Ordinal)))
            .Distinct(StringComparer.Ordinal).ToArray();
        var append = new ArrayBufferWriter<byte>(128);
        if (!hasVersion)
        {
            AppendMember(append, "anthropic_version"u8, w => w.WriteStringValue(BedrockEndpoint.AnthropicVersion));
        }
        if (existingBetas is null && merged.Length > 0)
        {
            AppendMember(append, "anthropic_beta"u8, w => WriteArray(w, merged));
        }
        byte[]? replacementBetas = null;
        if (existingBetas is not null && merged.Length != existingBetaValues.Length)
        {
            replacementBetas = JsonBytes(w => WriteArray(w, merged));
        }
        bedrockBody = Splice(messagesBody, scan, remove, existingBetas, replacementBetas, prepend: default, append.WrittenSpan);
        return true;
    }

    /// <summary>
    /// Bedrock → Messages, for the Bedrock front door: removes top-level <c>anthropic_version</c> and <c>anthropic_beta</c>
    /// (returned, for the <c>anthropic-version</c>/<c>anthropic-beta</c> headers), and any <c>model</c>/<c>stream</c> (the
    /// path decides), then adds <c>"model":"&lt;modelId&gt;"</c> and, for the streaming call, <c>"stream":true</c> at the
    /// start of the object.
    /// </summary>
    public static bool TryToMessages(ReadOnlySpan<byte> bedrockBody, string model, bool stream, out BedrockToMessagesResult? result, out string? error)
    {
        ArgumentNullException.ThrowIfNull(model);
        result = null;
        if (!TryScan(bedrockBody, out var scan, out error))
        {
            return false;
        }
        var remove = new List<Member>(4);
        string[] betas = [];
        string? version = null;
        foreach (var member in scan.Members)
        {
            var name = member.Name(bedrockBody);
            var value = bedrockBody[member.ValueStart..member.ValueEnd];
            if (name.SequenceEqual("anthropic_beta"u8))
            {
                if (!TryReadStringArray(value, out betas))
                {
                    error = "anthropic_beta: must be an array of strings";
                    return false;
                }
                remove.Add(member);
            }
            else if (name.SequenceEqual("anthropic_version"u8))
            {
                var reader = new Utf8JsonReader(value);
                reader.Read();
                if (reader.TokenType != JsonTokenType.String)
                {
                    error = "anthropic_version: must be a string";
                    return false;
                }
                version = reader.GetString();
                remove.Add(member);
            }
            else if (name.SequenceEqual("model"u8) || name.SequenceEqual("stream"u8))
            {
                remove.Add(member);
            }
        }
        var prepend = new ArrayBufferWriter<byte>(64 + model.Length);
        using (var writer = new Utf8JsonWriter(prepend, s_writerOptions))
        {
            writer.WriteStringValue("model");
        }
        Append(prepend, ":"u8);
        using (var writer = new Utf8JsonWriter(prepend, s_writerOptions))
        {
            writer.WriteStringValue(model);
        }
        if (stream)
        {
            Append(prepend, ",\"stream\":true"u8);
        }
        var body = Splice(bedrockBody, scan, remove, null, null, prepend.WrittenSpan, default);
        result = new BedrockToMessagesResult(body, betas, version);
        return true;
    }

    /// <summary>
    /// The values of <c>anthropic-beta</c> header lines: comma-separated, trimmed, empty entries dropped, duplicates
    /// dropped, order kept (Claude Code sends one header line with a comma-separated list).
    /// </summary>
    public static IReadOnlyList<string> SplitBetaHeader(IEnumerable<string?> headerValues)
    {
        ArgumentNullException.ThrowIfNull(headerValues);
        var result = new List<string>();
        foreach (var line in headerValues)
        {
            if (line is null)
            {
                continue;
            }
            foreach (var part in line.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!result.Contains(part, StringComparer.Ordinal))
                {
                    result.Add(part);
                }
            }
        }
        return result;
    }

    private readonly record struct Member(int NameStart, int NameEnd, int ValueStart, int ValueEnd)
    {
        public ReadOnlySpan<byte> Name(ReadOnlySpan<byte> body) => body[(NameStart + 1)..(NameEnd - 1)];
    }

    private sealed record Scan(int OpenBrace, int CloseBrace, List<Member> Members);

    /// <summary>Finds every top-level member's byte range; refuses non-objects, invalid JSON, escaped or repeated names we act on.</summary>
    private static bool TryScan(ReadOnlySpan<byte> body, out Scan scan, out string? error)
    {
        scan = null!;
        var members = new List<Member>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 256 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = "request body must be a JSON object";
                return false;
            }
            var open = (int)reader.TokenStartIndex;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var nameStart = (int)reader.TokenStartIndex;
                // The name's closing quote (ValueSpan is the raw, still-escaped name).
                var nameEnd = nameStart + 2 + reader.ValueSpan.Length;
                var name = reader.GetString()!;
                if (name is "model" or "stream" or "anthropic_version" or "anthropic_beta")
                {
                    if (reader.ValueIsEscaped)
                    {
                        error = $"{name}: member names must not use JSON escapes";
                        return false;
                    }
                    if (!seen.Add(name))
                    {
                        error = $"{name}: appears more than once";
                        return false;
                    }
                }
                reader.Read();
                var valueStart = (int)reader.TokenStartIndex;
                reader.Skip();
                var valueEnd = (int)reader.BytesConsumed;
                members.Add(new Member(nameStart, nameEnd, valueStart, valueEnd));
            }
            if (reader.TokenType != JsonTokenType.EndObject)
            {
                error = "request body must be a JSON object";
                return false;
            }
            var close = (int)reader.TokenStartIndex;
            // Trailing content after the object makes the next Read throw (single-value reader), reported as invalid JSON.
            reader.Read();
            scan = new Scan(open, close, members);
            error = null;
            return true;
        }
        catch (JsonException ex)
        {
            error = $"request body is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1})";
            return false;
        }
    }

    /// <summary>
    /// Rebuilds the body: removed members go with the comma that separated them from a neighbour; an optional member
    /// value is replaced; <paramref name="prepend"/> (members without surrounding commas) goes right after <c>{</c>,
    /// <paramref name="append"/> (members each starting with a comma) right after the last kept member.
    /// </summary>
    private static byte[] Splice(ReadOnlySpan<byte> body, Scan scan, List<Member> remove, Member? replace, byte[]? replacement,
        ReadOnlySpan<byte> prepend, ReadOnlySpan<byte> append)
    {
        var members = scan.Members;
        var removed = new bool[members.Count];
        for (var i = 0; i < members.Count; i++)
        {
            removed[i] = remove.Contains(members[i]);
        }
        // Byte ranges to cut, in order. A removed member after a kept one takes the comma before it; a removed member
        // with no kept member before it takes everything up to the next member's name.
        var cuts = new List<(int Start, int End)>();
        var keptBefore = false;
        for (var i = 0; i < members.Count; i++)
        {
            if (!removed[i])
            {
                keptBefore = true;
                continue;
            }
            if (keptBefore)
            {
                cuts.Add((members[i - 1].ValueEnd, members[i].ValueEnd));
            }
            else
            {
                cuts.Add((members[i].NameStart, i + 1 < members.Count ? members[i + 1].NameStart : members[i].ValueEnd));
            }
        }
        var lastKept = -1;
        for (var i = members.Count - 1; i >= 0; i--)
        {
            if (!removed[i])
            {
                lastKept = i;
                break;
            }
        }
        var anyKept = lastKept >= 0;
        var appendAt = anyKept ? members[lastKept].ValueEnd : scan.OpenBrace + 1;
        var edits = new List<(int At, int Kind, int End)>();
        foreach (var (start, end) in cuts)
        {
            edits.Add((start, 0, end));
        }
        if (replace is { } r && replacement is not null)
        {
            edits.Add((r.ValueStart, 1, r.ValueEnd));
        }
        if (!append.IsEmpty)
        {
            // A new member after nothing gets no leading comma.
            edits.Add((appendAt, 2, appendAt));
        }
        edits.Sort((a, b) => a.At != b.At ? a.At.CompareTo(b.At) : a.Kind.CompareTo(b.Kind));

        var output = new ArrayBufferWriter<byte>(body.Length + prepend.Length + append.Length + (replacement?.Length ?? 0) + 8);
        Append(output, body[..(scan.OpenBrace + 1)]);
        var position = scan.OpenBrace + 1;
        if (!prepend.IsEmpty)
        {
            Append(output, prepend);
            if (anyKept)
            {
                Append(output, ","u8);
            }
        }
        foreach (var (at, kind, end) in edits)
        {
            if (at > position)
            {
                Append(output, body[position..at]);
                position = at;
            }
            switch (kind)
            {
                case 0:
                    position = Math.Max(position, end);
                    break;
                case 1:
                    Append(output, replacement);
                    position = end;
                    break;
                default:
                    Append(output, anyKept || !prepend.IsEmpty ? append : append[1..]);
                    break;
            }
        }
        Append(output, body[position..]);
        return output.WrittenSpan.ToArray();
    }

    private static void AppendMember(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> name, Action<Utf8JsonWriter> value)
    {
        Append(output, ","u8);
        Append(output, "\""u8);
        Append(output, name);
        Append(output, "\":"u8);
        using var writer = new Utf8JsonWriter(output, s_writerOptions);
        value(writer);
    }

    private static byte[] JsonBytes(Action<Utf8JsonWriter> value)
    {
        var output = new ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(output, s_writerOptions))
        {
            value(writer);
        }
        return output.WrittenSpan.ToArray();
    }

    private static void WriteArray(Utf8JsonWriter writer, IEnumerable<string> values)
    {
        writer.WriteStartArray();
        foreach (var value in values)
        {
            writer.WriteStringValue(value);
        }
        writer.WriteEndArray();
    }

    private static bool TryReadStringArray(ReadOnlySpan<byte> json, out string[] values)
    {
        values = [];
        var reader = new Utf8JsonReader(json);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
        {
            return false;
        }
        var list = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.String)
            {
                return false;
            }
            list.Add(reader.GetString()!);
        }
        values = [.. list];
        return true;
    }

    private static void Append(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(output.GetSpan(bytes.Length));
        output.Advance(bytes.Length);
    }
}

using System.Buffers;
using System.Text.Json;
using Airlock.Gateway.Pipeline;
using Airlock.Protocols.Json;
using Microsoft.AspNetCore.Http;

namespace Airlock.Gateway.Upstreams;

/// <summary>
/// Moves a request body between the Messages, Bedrock and Vertex shapes by splicing top-level members
/// (<see cref="TopLevelSplicer"/>): every member the shapes agree on keeps its bytes, unknown fields included.
/// A body already in the target shape with nothing to change is returned as it is. A converted body is written into a
/// pooled buffer when the caller names the response whose end returns it (<c>owner</c>): a 49 KB turn through the Bedrock
/// door then costs a copy, not a fresh allocation (and the page faults of fresh memory) per request.
/// </summary>
internal static class BodyConverter
{
    /// <summary>The <c>anthropic_version</c> Bedrock InvokeModel requires.</summary>
    public const string BedrockVersion = "bedrock-2023-05-31";

    /// <summary>The <c>anthropic_version</c> Vertex rawPredict requires.</summary>
    public const string VertexVersion = "vertex-2023-10-16";

    private static readonly byte[] True = "true"u8.ToArray();

    /// <summary>
    /// InvokeModel fields a token count does not take: the Messages API's count_tokens refuses them ("max_tokens: Extra inputs
    /// are not permitted"), and none changes the count. A Bedrock CountTokens body wraps an InvokeModel body, which has them.
    /// </summary>
    private static readonly string[] NotCounted = ["max_tokens", "stream", "temperature", "top_p", "top_k", "stop_sequences", "metadata", "service_tier"];

    /// <summary>
    /// The beta flags the client asked for: Bedrock bodies carry them in <c>anthropic_beta</c>, the others in the
    /// <c>anthropic-beta</c> header. A Vertex body's <c>anthropic_beta</c> is judged with the header: whether Vertex
    /// honours it is not documented, so it never travels unjudged (<see cref="ToVertex"/> moves what is kept to the header).
    /// </summary>
    public static List<string> RequestedBetas(MessagesCall call, string? betaHeader)
    {
        if (call.Shape == BodyShape.Bedrock)
        {
            return BodyBetas(call.Body.Span, call.Layout);
        }
        var betas = SplitBetaHeader(betaHeader);
        if (call.Shape == BodyShape.Vertex && Occurrences(call.Body.Span, call.Layout, "anthropic_beta") > 0)
        {
            betas = [.. betas.Union(BodyBetas(call.Body.Span, call.Layout), StringComparer.Ordinal)];
        }
        return betas;
    }

    /// <summary>
    /// The strings of every <c>anthropic_beta</c> member of a Bedrock body. A body may repeat the member, and JSON parsers
    /// disagree on which copy counts (first, last, or an error): the beta policy judges them all, and a converted body
    /// carries one member with what it kept (<see cref="ToBedrock"/> never forwards a repeated member as it is).
    /// </summary>
    private static List<string> BodyBetas(ReadOnlySpan<byte> body, JsonObjectLayout layout)
    {
        var betas = new List<string>();
        var members = 0;
        foreach (var member in layout.Members)
        {
            if (!JsonObjectLayout.NameEquals(body, member, "anthropic_beta"))
            {
                continue;
            }
            members++;
            var reader = new Utf8JsonReader(body[member.ValueStart..member.End]);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartArray)
            {
                continue;
            }
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType == JsonTokenType.String)
                {
                    betas.Add(reader.GetString()!);
                }
                else
                {
                    reader.Skip();
                }
            }
        }
        return members > 1 ? [.. betas.Distinct(StringComparer.Ordinal)] : betas;
    }

    /// <summary>How many top-level members of <paramref name="body"/> are called <paramref name="name"/>.</summary>
    private static int Occurrences(ReadOnlySpan<byte> body, JsonObjectLayout layout, string name)
    {
        var count = 0;
        foreach (var member in layout.Members)
        {
            if (JsonObjectLayout.NameEquals(body, member, name))
            {
                count++;
            }
        }
        return count;
    }

    /// <summary>Splits an <c>anthropic-beta</c> header value (comma-separated, any spacing).</summary>
    public static List<string> SplitBetaHeader(string? header) =>
        string.IsNullOrEmpty(header)
            ? []
            : header.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();

    /// <summary>A Messages API body: <c>model</c> (and <c>stream</c>) in the body; no <c>anthropic_version</c>/<c>anthropic_beta</c> (headers carry them).</summary>
    public static ReadOnlyMemory<byte> ToMessages(MessagesCall call, string model, IReadOnlyCollection<string> removeFields, HttpResponse? owner = null)
    {
        if (call.Shape == BodyShape.Messages && model == call.Model && removeFields.Count == 0)
        {
            return call.Body;
        }
        var remove = new HashSet<string>(removeFields, StringComparer.Ordinal) { "model", "anthropic_version", "anthropic_beta" };
        if (call.Operation == CallOperation.CountTokens && call.Shape == BodyShape.Bedrock)
        {
            remove.UnionWith(NotCounted);
        }
        var insert = new List<TopLevelSplicer.Insertion> { new("model", TopLevelSplicer.StringLiteral(model)) };
        if (call.Shape == BodyShape.Bedrock && call.Stream && call.Operation == CallOperation.Messages)
        {
            // Bedrock says "stream" in the path; the Messages API needs it in the body.
            remove.Add("stream");
            insert.Add(new("stream", True));
        }
        return Splice(call, remove, insert, owner);
    }

    /// <summary>A Bedrock InvokeModel body: no <c>model</c>/<c>stream</c>, <c>anthropic_version</c>, betas in <c>anthropic_beta</c>.</summary>
    public static ReadOnlyMemory<byte> ToBedrock(MessagesCall call, IReadOnlyList<string> betas, IReadOnlyCollection<string> removeFields, HttpResponse? owner = null)
    {
        var span = call.Body.Span;
        if (call.Shape == BodyShape.Bedrock && removeFields.Count == 0
            && call.Layout.RawValue(span, "anthropic_version").SequenceEqual(TopLevelSplicer.StringLiteral(BedrockVersion))
            && TopLevelSplicer.StringArray(span, call.Layout, "anthropic_beta").SequenceEqual(betas)
            && Occurrences(span, call.Layout, "anthropic_beta") <= 1 && Occurrences(span, call.Layout, "anthropic_version") == 1)
        {
            return call.Body;
        }
        var remove = new HashSet<string>(removeFields, StringComparer.Ordinal) { "model", "stream", "anthropic_version", "anthropic_beta" };
        var insert = new List<TopLevelSplicer.Insertion> { new("anthropic_version", TopLevelSplicer.StringLiteral(BedrockVersion)) };
        if (betas.Count > 0)
        {
            insert.Add(new("anthropic_beta", TopLevelSplicer.StringArrayLiteral(betas)));
        }
        return Splice(call, remove, insert, owner);
    }

    /// <summary>
    /// A Vertex rawPredict body: no <c>model</c> (it is in the URL), <c>stream</c> kept, <c>anthropic_version</c>
    /// added; betas travel in the header. Count-tokens bodies keep <c>model</c> (Vertex routes them on it).
    /// </summary>
    public static ReadOnlyMemory<byte> ToVertex(MessagesCall call, string model, IReadOnlyCollection<string> removeFields, HttpResponse? owner = null)
    {
        var span = call.Body.Span;
        var countTokens = call.Operation == CallOperation.CountTokens;
        if (call.Shape == BodyShape.Vertex && !countTokens && removeFields.Count == 0
            && call.Layout.RawValue(span, "anthropic_version").SequenceEqual(TopLevelSplicer.StringLiteral(VertexVersion))
            && Occurrences(span, call.Layout, "anthropic_version") == 1 && Occurrences(span, call.Layout, "anthropic_beta") == 0)
        {
            return call.Body;
        }
        var remove = new HashSet<string>(removeFields, StringComparer.Ordinal) { "model", "anthropic_version", "anthropic_beta" };
        var insert = new List<TopLevelSplicer.Insertion> { new("anthropic_version", TopLevelSplicer.StringLiteral(VertexVersion)) };
        if (countTokens)
        {
            insert.Add(new("model", TopLevelSplicer.StringLiteral(model)));
            remove.Add("stream");
            if (call.Shape == BodyShape.Bedrock)
            {
                remove.UnionWith(NotCounted);
            }
        }
        else if (call.Shape == BodyShape.Bedrock && call.Stream)
        {
            remove.Add("stream");
            insert.Add(new("stream", True));
        }
        return Splice(call, remove, insert, owner);
    }

    /// <summary>
    /// The edited body: in a pooled buffer that goes back to the pool when <paramref name="owner"/>'s request ends (the
    /// upstream request, sent over HTTP/1.1, has written its whole body before its response is read, and it is disposed
    /// before the exchange ends), or in a new array without an owner.
    /// </summary>
    private static ReadOnlyMemory<byte> Splice(MessagesCall call, HashSet<string> remove, List<TopLevelSplicer.Insertion> insert, HttpResponse? owner)
    {
        if (owner is null)
        {
            return TopLevelSplicer.Edit(call.Body.Span, call.Layout, remove, insert);
        }
        var buffer = new PooledBuffer(TopLevelSplicer.EditedLengthBound(call.Body.Length, insert));
        owner.RegisterForDispose(buffer);
        return buffer.Memory[..TopLevelSplicer.Edit(call.Body.Span, call.Layout, remove, insert, buffer.Memory.Span)];
    }

    /// <summary>An array rented from the shared pool until the request that registered it ends.</summary>
    private sealed class PooledBuffer(int length) : IDisposable
    {
        private byte[]? _array = ArrayPool<byte>.Shared.Rent(length);

        public Memory<byte> Memory => _array ?? throw new ObjectDisposedException(nameof(PooledBuffer));

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _array, null) is { } array)
            {
                ArrayPool<byte>.Shared.Return(array);
            }
        }
    }
}

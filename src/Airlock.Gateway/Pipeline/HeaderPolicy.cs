using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;

namespace Airlock.Gateway.Pipeline;

/// <summary>
/// Which headers cross the gateway. Everything else travels verbatim in both directions: Claude Code
/// sends new <c>anthropic-*</c> headers every release and a gateway that allowlists them breaks it.
/// </summary>
internal static class HeaderPolicy
{
    // Hop-by-hop headers (RFC 9110 §7.6.1) plus framing headers the HTTP stack sets itself.
    private static readonly FrozenSet<string> HopByHop = new[]
    {
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
        "proxy-authorization", "proxy-authenticate", "host", "content-length", "expect",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    // The client's gateway key must never reach the upstream; the gateway adds its own credential.
    // Accept-Encoding is dropped so the answer arrives uncompressed and can be inspected as it streams.
    private static readonly FrozenSet<string> RequestOnlyDrop = new[]
    {
        "x-api-key", "authorization", "cookie", "accept-encoding", "forwarded", "x-forwarded-for",
        "x-forwarded-host", "x-forwarded-proto",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    // Upstream cookies and the upstream's alt-svc advertisement mean nothing to the client of a gateway.
    private static readonly FrozenSet<string> ResponseOnlyDrop = new[]
    {
        "set-cookie", "alt-svc", "server",
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Copies the client's headers to the upstream request. <paramref name="dropCloudHeaders"/> also drops the AWS
    /// and Google SDK headers (<c>x-amz-*</c>, <c>amz-sdk-*</c>, <c>x-amzn-*</c>, <c>x-goog-*</c>) a Bedrock or Vertex
    /// client sends: they belong to the client's hop, and a signature over them would not match the new request.
    /// </summary>
    public static void CopyRequestHeaders(IHeaderDictionary from, HttpRequestMessage to, bool dropCloudHeaders = false)
    {
        foreach (var (name, values) in from)
        {
            if (name.Length == 0 || name[0] == ':' || HopByHop.Contains(name) || RequestOnlyDrop.Contains(name))
            {
                continue;
            }
            if (dropCloudHeaders && IsCloudHeader(name))
            {
                continue;
            }
            if (name.StartsWith("content-", StringComparison.OrdinalIgnoreCase))
            {
                to.Content?.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)values!);
                continue;
            }
            to.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)values!);
        }
    }

    private static bool IsCloudHeader(string name) =>
        name.StartsWith("x-amz", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("amz-sdk-", StringComparison.OrdinalIgnoreCase)
        || name.StartsWith("x-goog-", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Copies the upstream's response headers. <paramref name="keepContentLength"/> is false for streams;
    /// <paramref name="keepContentType"/> is false when the door writes the body in another format.
    /// </summary>
    public static void CopyResponseHeaders(HttpResponseMessage from, HttpResponse to, bool keepContentLength, bool keepContentType = true)
    {
        foreach (var header in from.Headers.NonValidated)
        {
            if (!HopByHop.Contains(header.Key) && !ResponseOnlyDrop.Contains(header.Key))
            {
                to.Headers[header.Key] = ToStringValues(header.Value);
            }
        }
        foreach (var header in from.Content.Headers.NonValidated)
        {
            if (string.Equals(header.Key, "content-length", StringComparison.OrdinalIgnoreCase))
            {
                if (keepContentLength && from.Content.Headers.ContentLength is { } length)
                {
                    to.ContentLength = length;
                }
                continue;
            }
            if (!keepContentType && string.Equals(header.Key, "content-type", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            if (!HopByHop.Contains(header.Key))
            {
                to.Headers[header.Key] = ToStringValues(header.Value);
            }
        }
    }

    private static Microsoft.Extensions.Primitives.StringValues ToStringValues(System.Net.Http.Headers.HeaderStringValues values)
    {
        if (values.Count == 1)
        {
            return values.ToString();
        }
        return values.ToArray();
    }
}

namespace Airlock.Protocols.Aws.Bedrock;

/// <summary>The two Bedrock Runtime operations Airlock speaks.</summary>
public enum BedrockOperation
{
    /// <summary><c>POST /model/{modelId}/invoke</c>: one JSON answer.</summary>
    Invoke,

    /// <summary><c>POST /model/{modelId}/invoke-with-response-stream</c>: an event stream.</summary>
    InvokeWithResponseStream,

    /// <summary><c>POST /model/{modelId}/count-tokens</c>: <c>{"inputTokens":N}</c> for a wrapped InvokeModel body (Bedrock API reference, CountTokens).</summary>
    CountTokens,
}

/// <summary>
/// Bedrock model identifiers: a foundation-model id (<c>anthropic.claude-sonnet-4-5-20250929-v1:0</c>), an inference profile
/// (<c>us.anthropic…</c>, <c>global.anthropic…</c>) or an ARN (<c>arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc</c>).
/// Validation is deliberately narrower than "any string": only the characters those forms use, at most 2048 of them
/// (the API's limit), no empty or dot segments, so a path trick can never reach an upstream URL.
/// </summary>
public static class BedrockModelId
{
    /// <summary>The Bedrock API's maximum model id length.</summary>
    public const int MaxLength = 2048;

    /// <summary>
    /// The foundation-model id behind a system-defined cross-Region inference profile (<c>us.anthropic.claude-…</c> →
    /// <c>anthropic.claude-…</c>), which is what CountTokens accepts (it refuses profile ids); a foundation-model id is
    /// returned as it is, and null for an ARN (an application profile names no model in its id).
    /// </summary>
    public static string? FoundationModelId(string modelId)
    {
        ArgumentNullException.ThrowIfNull(modelId);
        if (modelId.StartsWith("arn:", StringComparison.Ordinal))
        {
            return null;
        }
        var dot = modelId.IndexOf('.', StringComparison.Ordinal);
        // A profile id is "<geography>.<provider>.<model>": the first segment has no '-' … except "us-gov".
        if (dot > 0 && modelId.IndexOf('.', dot + 1) > 0 && modelId[..dot] is "us" or "eu" or "apac" or "global" or "us-gov" or "jp" or "au" or "ca")
        {
            return modelId[(dot + 1)..];
        }
        return modelId;
    }

    /// <summary>Null when <paramref name="modelId"/> is acceptable, otherwise why not (never echoing the id).</summary>
    public static string? Validate(string? modelId)
    {
        if (string.IsNullOrEmpty(modelId))
        {
            return "model id is empty";
        }
        if (modelId.Length > MaxLength)
        {
            return $"model id is longer than {MaxLength} characters";
        }
        foreach (var c in modelId)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or ':' or '/'))
            {
                return c == '%'
                    ? "model id contains '%' after decoding (double-encoded path)"
                    : $"model id contains a character outside A-Z a-z 0-9 - . _ : / (U+{(int)c:X4})";
            }
        }
        foreach (var segment in modelId.Split('/'))
        {
            if (segment.Length == 0)
            {
                return "model id has an empty path segment";
            }
            if (segment is "." or "..")
            {
                return "model id has a '.' or '..' segment";
            }
        }
        return null;
    }

    /// <summary>
    /// Parses the Bedrock-door request path after the door's prefix, taken from the <b>raw</b> request target
    /// (<c>IHttpRequestFeature.RawTarget</c>: Kestrel decodes everything in <c>Request.Path</c> except <c>%2F</c>, which
    /// would make an ARN's encoded slash ambiguous). Accepts <c>/model/{id}/invoke</c> and
    /// <c>/model/{id}/invoke-with-response-stream</c>; the id is percent-decoded exactly once (Claude Code keeps <c>:</c> and
    /// encodes <c>/</c>; botocore encodes both) and then validated, so <c>%2e%2e</c>, <c>%252e</c> and friends are refused.
    /// </summary>
    public static bool TryParseInvokePath(string rawPath, out string modelId, out BedrockOperation operation, out string? error)
    {
        ArgumentNullException.ThrowIfNull(rawPath);
        modelId = "";
        operation = default;
        var query = rawPath.IndexOf('?', StringComparison.Ordinal);
        var path = query < 0 ? rawPath : rawPath[..query];
        if (!path.StartsWith("/model/", StringComparison.Ordinal))
        {
            error = "path must be /model/{modelId}/invoke or /model/{modelId}/invoke-with-response-stream";
            return false;
        }
        var rest = path["/model/".Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            error = "path must be /model/{modelId}/invoke or /model/{modelId}/invoke-with-response-stream";
            return false;
        }
        var action = rest[(slash + 1)..];
        switch (action)
        {
            case "invoke":
                operation = BedrockOperation.Invoke;
                break;
            case "invoke-with-response-stream":
                operation = BedrockOperation.InvokeWithResponseStream;
                break;
            case "count-tokens":
                operation = BedrockOperation.CountTokens;
                break;
            default:
                error = "unknown Bedrock operation; expected invoke, invoke-with-response-stream or count-tokens (a model id's '/' must be sent as %2F)";
                return false;
        }
        string decoded;
        try
        {
            decoded = Uri.UnescapeDataString(rest[..slash]);
        }
        catch (UriFormatException)
        {
            error = "model id is not valid percent-encoding";
            return false;
        }
        error = Validate(decoded);
        if (error is not null)
        {
            return false;
        }
        modelId = decoded;
        return true;
    }
}

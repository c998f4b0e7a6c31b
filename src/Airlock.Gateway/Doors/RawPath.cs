using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Airlock.Gateway.Doors;

/// <summary>
/// Reads path segments from the request target exactly as the client sent it. Kestrel decodes the path except
/// <c>%2F</c> (dotnet/aspnetcore#17864), so a model id or ARN with an encoded slash, or an encoded dot segment, must
/// be parsed from <see cref="IHttpRequestFeature.RawTarget"/>, each segment decoded once.
/// </summary>
internal static class RawPath
{
    /// <summary>The raw path (no query) of the request.</summary>
    public static string Of(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(raw) || raw[0] != '/')
        {
            raw = context.Request.PathBase.Value + context.Request.Path.Value;
        }
        var query = raw.IndexOf('?', StringComparison.Ordinal);
        return query >= 0 ? raw[..query] : raw;
    }

    /// <summary>
    /// Decodes one path segment once and checks it is a plain name: no dot segment (<c>.</c>, <c>..</c>, also when
    /// encoded), no separator, no control character, and no percent sign left after decoding (double encoding such as
    /// <c>%252e</c>). Returns null with <paramref name="problem"/> set otherwise.
    /// </summary>
    public static string? DecodeSegment(string segment, out string? problem)
    {
        string decoded;
        try
        {
            decoded = Uri.UnescapeDataString(segment);
        }
        catch (UriFormatException)
        {
            problem = "is not valid percent-encoding";
            return null;
        }
        problem = decoded switch
        {
            "" => "is empty",
            "." or ".." => "is a dot segment",
            _ when decoded.Contains('%', StringComparison.Ordinal) => "is encoded more than once",
            _ when decoded.Contains("..", StringComparison.Ordinal) => "contains '..'",
            _ when decoded.Contains('\\', StringComparison.Ordinal) => "contains a backslash",
            _ when decoded.Any(char.IsControl) => "contains a control character",
            _ => null,
        };
        return problem is null ? decoded : null;
    }
}

using System.Text;

namespace Airlock.Testing;

/// <summary>
/// Saves a recorded request as fixture files: the body byte for byte, and a headers file with the request
/// line and one <c>Name: value</c> line per header value, credentials replaced by <c>REDACTED</c>.
/// </summary>
public static class CapturedRequestFiles
{
    public const string Redacted = "REDACTED";

    // Credentials the CLI can send; their values never go into a fixture.
    private static readonly string[] CredentialHeaders = ["x-api-key", "authorization", "proxy-authorization", "x-goog-api-key"];

    public static async Task WriteAsync(RecordedRequest request, string bodyPath, string headersPath, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        await File.WriteAllBytesAsync(bodyPath, request.GetBodyBytes(), cancellationToken);
        await File.WriteAllTextAsync(headersPath, FormatHeaders(request), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), cancellationToken);
    }

    /// <summary>The headers file content (LF line endings, final newline).</summary>
    public static string FormatHeaders(RecordedRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var builder = new StringBuilder();
        builder.Append(request.Method).Append(' ').Append(request.Path).Append(request.QueryString).Append('\n');
        foreach (var (name, value) in request.HeaderLines)
        {
            builder.Append(name).Append(": ").Append(RedactValue(name, value)).Append('\n');
        }

        return builder.ToString();
    }

    private static string RedactValue(string name, string value)
    {
        if (!CredentialHeaders.Contains(name, StringComparer.OrdinalIgnoreCase))
        {
            return value;
        }

        // Keep the scheme of "Bearer xyz" so the fixture still shows which auth style was used.
        var space = value.IndexOf(' ', StringComparison.Ordinal);
        return space > 0 && name.Equals("authorization", StringComparison.OrdinalIgnoreCase) ? value[..(space + 1)] + Redacted : Redacted;
    }
}

using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Airlock.Testing;

/// <summary>
/// Sends one HTTP/1.1 request with the request target written exactly as given (HttpClient normalizes dot segments
/// and escapes), for tests of path tricks such as <c>..</c>, <c>%2e%2e</c> and double encoding.
/// </summary>
public static class RawHttp
{
    /// <summary>The answer: status, headers (lower-case names) and body text.</summary>
    public sealed record Response(int Status, IReadOnlyDictionary<string, string> Headers, string Body);

    public static async Task<Response> PostAsync(Uri server, string target, IEnumerable<KeyValuePair<string, string>> headers, byte[] body)
    {
        ArgumentNullException.ThrowIfNull(server);
        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.Port);
        await using var stream = client.GetStream();
        var head = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"POST {target} HTTP/1.1\r\nHost: {server.Authority}\r\nConnection: close\r\n")
            .Append(CultureInfo.InvariantCulture, $"Content-Length: {body.Length}\r\nContent-Type: application/json\r\n");
        foreach (var (name, value) in headers)
        {
            head.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
        }
        head.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()));
        await stream.WriteAsync(body);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var text = await reader.ReadToEndAsync();
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var lines = text[..split].Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], CultureInfo.InvariantCulture);
        var parsed = lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim().ToLowerInvariant(), p => p[1].Trim());
        var content = text[(split + 4)..];
        if (parsed.TryGetValue("transfer-encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            content = Dechunk(content);
        }
        return new Response(status, parsed, content);
    }

    private static string Dechunk(string chunked)
    {
        var output = new StringBuilder();
        var position = 0;
        while (position < chunked.Length)
        {
            var lineEnd = chunked.IndexOf("\r\n", position, StringComparison.Ordinal);
            var size = int.Parse(chunked[position..lineEnd].Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            if (size == 0)
            {
                break;
            }
            output.Append(chunked, lineEnd + 2, size);
            position = lineEnd + 2 + size + 2;
        }
        return output.ToString();
    }
}

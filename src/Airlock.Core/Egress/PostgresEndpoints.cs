using System.Data.Common;

namespace Airlock.Core.Egress;

/// <summary>One server a PostgreSQL connection string lets the client dial.</summary>
/// <param name="Host">Host name or address (brackets removed), or the Unix socket directory.</param>
/// <param name="Port">TCP port (5432 unless the entry or <c>Port</c> says otherwise).</param>
/// <param name="UnixSocket">True for a socket path (<c>/run/postgresql</c>, or <c>@name</c> in Linux's abstract namespace): never leaves the host.</param>
public sealed record PostgresEndpoint(string Host, int Port, bool UnixSocket)
{
    /// <summary><c>host:port</c>, or the socket path.</summary>
    public override string ToString() => UnixSocket ? $"unix socket {Host}" : Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}

/// <summary>
/// The servers and TLS mode of an Npgsql connection string, for the data-egress checks: what the audit store will
/// dial, without the credential. Parsed with <see cref="DbConnectionStringBuilder"/>, the base class whose parser
/// Npgsql's own builder uses (Core takes no dependency on Npgsql), with Npgsql's keywords: <c>Host</c>/<c>Server</c>
/// (a comma-separated list, each entry optionally <c>host:port</c> or <c>[v6]:port</c>; a leading <c>/</c> or <c>@</c>
/// is a Unix socket), <c>Port</c>, and <c>SSL Mode</c>/<c>SslMode</c> (Npgsql's default is <c>Prefer</c>).
/// </summary>
public sealed record PostgresEndpoints(IReadOnlyList<PostgresEndpoint> Servers, string SslMode, bool SslModeDeclared)
{
    private const int DefaultPort = 5432;

    /// <summary>True when the mode refuses a connection without TLS (<c>Require</c>, <c>VerifyCA</c>, <c>VerifyFull</c>).</summary>
    public bool TlsRequired => Normalize(SslMode) is "require" or "verifyca" or "verifyfull";

    /// <summary>
    /// Parses <paramref name="connectionString"/>; <paramref name="pgHost"/> is the <c>PGHOST</c> variable, Npgsql's
    /// fallback when the string names no host.
    /// </summary>
    /// <returns>The endpoints, or null with <paramref name="problem"/> saying why (never echoing the string).</returns>
    public static PostgresEndpoints? Parse(string connectionString, string? pgHost, out string? problem)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        var builder = new DbConnectionStringBuilder();
        try
        {
            builder.ConnectionString = connectionString;
        }
        catch (ArgumentException)
        {
            // The parser's message quotes the string around the fault, which may be the password: not repeated.
            problem = "the connection string is not in key=value; form";
            return null;
        }
        var hosts = Value(builder, "host", "server") ?? pgHost;
        if (string.IsNullOrWhiteSpace(hosts))
        {
            problem = "the connection string names no Host (and PGHOST is not set)";
            return null;
        }
        var port = DefaultPort;
        if (Value(builder, "port") is { } portText && (!int.TryParse(portText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            problem = $"Port '{portText}' is not a TCP port";
            return null;
        }
        var servers = new List<PostgresEndpoint>();
        foreach (var entry in hosts.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (ParseEntry(entry, port) is not { } server)
            {
                problem = $"host entry '{entry}' is not host, host:port or [address]:port";
                return null;
            }
            servers.Add(server);
        }
        if (servers.Count == 0)
        {
            problem = "the connection string names no Host";
            return null;
        }
        problem = null;
        var mode = Value(builder, "ssl mode", "sslmode");
        return new PostgresEndpoints(servers, mode ?? "Prefer", mode is not null);
    }

    private static PostgresEndpoint? ParseEntry(string entry, int port)
    {
        if (entry[0] is '/' or '@')
        {
            return new PostgresEndpoint(entry, port, UnixSocket: true);
        }
        string host;
        string? portText = null;
        if (entry[0] == '[')
        {
            var close = entry.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || (close + 1 < entry.Length && entry[close + 1] != ':'))
            {
                return null;
            }
            host = entry[1..close];
            portText = close + 2 <= entry.Length - 1 ? entry[(close + 2)..] : null;
        }
        else if (entry.IndexOf(':', StringComparison.Ordinal) is var colon and >= 0 && colon == entry.LastIndexOf(':'))
        {
            host = entry[..colon];
            portText = entry[(colon + 1)..];
        }
        else
        {
            host = entry; // a bare IPv6 address, or a name
        }
        if (portText is not null && (!int.TryParse(portText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
        {
            return null;
        }
        return host.Length == 0 ? null : new PostgresEndpoint(host, port, UnixSocket: false);
    }

    private static string? Value(DbConnectionStringBuilder builder, params string[] keys)
    {
        foreach (var key in keys)
        {
            if (builder.TryGetValue(key, out var value) && value?.ToString() is { Length: > 0 } text)
            {
                return text;
            }
        }
        return null;
    }

    private static string Normalize(string mode) => mode.Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal).ToLowerInvariant();
}

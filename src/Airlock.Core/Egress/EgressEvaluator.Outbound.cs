using System.Net;
using Airlock.Core.Configuration;

namespace Airlock.Core.Egress;

/// <summary>
/// The gateway's outbound connections other than upstreams and their credential endpoints: SIEM sinks (webhook, OTLP,
/// syslog) and the PostgreSQL audit store. Startup and <c>airlock posture</c> both get them from here, so the check that
/// refuses a configuration is the check the CISO reads.
/// </summary>
public static partial class EgressEvaluator
{
    private const string SiemPrefix = "siem.";
    private const string SiemTitle = "SIEM sink resolves to allowed addresses";
    private const string AuditStoreId = "audit.store.addresses";
    private const string AuditStoreTitle = "PostgreSQL audit store resolves to allowed addresses";
    private const string AuditTlsId = "audit.store.tls";
    private const string AuditTlsTitle = "TLS to the PostgreSQL audit store";
    private const string OfflineFix = "run airlock posture without --offline where the gateway runs";

    /// <summary>One host an outbound connection other than an upstream dials.</summary>
    private sealed record OutboundTarget(string Id, string Title, string Host, string What, bool Local = false);

    /// <summary>Every SIEM sink and PostgreSQL server, with the checks that need no resolution added to <paramref name="checks"/>.</summary>
    private static List<OutboundTarget> OutboundTargets(AirlockConfig config, Func<string, string?> getEnvironment, List<EgressCheck> checks)
    {
        var targets = new List<OutboundTarget>();
        foreach (var sink in config.Siem.Sinks)
        {
            var host = sink.Kind == SiemSinkKind.Syslog ? sink.Host ?? "" : sink.Url?.IdnHost ?? "";
            host = host.Length > 2 && host[0] == '[' && host[^1] == ']' ? host[1..^1] : host;
            // Only scheme and authority: a webhook's path or query may carry a token.
            var what = sink.Kind == SiemSinkKind.Syslog
                ? $"syslog {sink.Transport.ToString().ToLowerInvariant()} {(host.Contains(':', StringComparison.Ordinal) ? $"[{host}]" : host)}:{sink.Port}"
                : $"{sink.Kind.ToString().ToLowerInvariant()} {sink.Url?.GetLeftPart(UriPartial.Authority)}";
            targets.Add(new OutboundTarget(SiemPrefix + sink.Name, SiemTitle, host, what));
        }
        if (config.Audit.Store == AuditStoreKind.Postgres && config.Audit.PostgresConnectionStringEnv is { } variable)
        {
            AddPostgresTargets(config, variable, getEnvironment, targets, checks);
        }
        return targets;
    }

    private static void AddPostgresTargets(AirlockConfig config, string variable, Func<string, string?> getEnvironment, List<OutboundTarget> targets, List<EgressCheck> checks)
    {
        if (getEnvironment(variable) is not { Length: > 0 } connectionString)
        {
            checks.Add(new EgressCheck(AuditStoreId, AuditStoreTitle, CheckStatus.Unknown, $"{variable} is not set here, so the servers it names are not known",
                "run the check with the gateway's environment (startup runs it there)", null));
            return;
        }
        if (PostgresEndpoints.Parse(connectionString, getEnvironment("PGHOST"), out var problem) is not { } endpoints)
        {
            checks.Add(Fail(AuditStoreId, AuditStoreTitle, $"{variable}: {problem}", "fix the connection string", null));
            return;
        }
        foreach (var server in endpoints.Servers)
        {
            targets.Add(new OutboundTarget(AuditStoreId, AuditStoreTitle, server.Host, $"postgres {server} (from {variable}, SSL Mode {endpoints.SslMode})", server.UnixSocket));
        }
        // Level 2 forbids the public internet, not cleartext inside the network: a private server without TLS is a
        // warning (unknown), not a failure. Local servers (socket, loopback) never put the records on a wire.
        var remote = endpoints.Servers.Where(s => !s.UnixSocket && !(IPAddress.TryParse(s.Host, out var a) && IPAddress.IsLoopback(a)) && s.Host != "localhost").ToList();
        var mode = endpoints.SslModeDeclared ? $"SSL Mode {endpoints.SslMode}" : "SSL Mode not set (Npgsql's default, Prefer: TLS only if the server offers it)";
        checks.Add(endpoints.TlsRequired || remote.Count == 0
            ? Pass(AuditTlsId, AuditTlsTitle, endpoints.TlsRequired ? $"{mode}: connections without TLS are refused" : $"{mode}; every server is local ({string.Join(", ", endpoints.Servers)})")
            : new EgressCheck(AuditTlsId, AuditTlsTitle, CheckStatus.Unknown,
                $"{mode}: audit records (who, what, where) may cross the network to {string.Join(", ", remote)} in cleartext",
                "set SSL Mode=VerifyFull (or Require) in the connection string", null));
    }

    /// <summary>The outbound checks without resolution: literal and local hosts decided, names unknown (offline).</summary>
    private static void AddOutboundChecks(AirlockConfig config, EgressRule rule, Func<string, string?> getEnvironment, List<EgressCheck> checks)
    {
        foreach (var target in OutboundTargets(config, getEnvironment, checks))
        {
            checks.Add(LocalCheck(target)
                ?? LiteralHostCheck(target, rule)
                ?? new EgressCheck(target.Id, target.Title, CheckStatus.Unknown, $"{target.What}: {target.Host} not resolved (offline); each connection is still checked when it is opened",
                    OfflineFix, null));
        }
    }

    /// <summary>The outbound checks with every host name resolved through <paramref name="resolver"/>.</summary>
    private static async Task AddOutboundChecksAsync(AirlockConfig config, EgressRule rule, IHostResolver resolver, Func<string, string?> getEnvironment, List<EgressCheck> checks, CancellationToken ct)
    {
        foreach (var target in OutboundTargets(config, getEnvironment, checks))
        {
            if ((LocalCheck(target) ?? LiteralHostCheck(target, rule)) is { } decided)
            {
                checks.Add(decided);
                continue;
            }
            var check = await CheckHostAsync(target.Id, target.Title, target.Host, rule, resolver, null, ct).ConfigureAwait(false);
            checks.Add(check with { Evidence = $"{target.What}: {check.Evidence}" });
        }
    }

    private static EgressCheck? LocalCheck(OutboundTarget target) => target.Local
        ? Pass(target.Id, target.Title, $"{target.What}: a Unix socket never leaves the host")
        : null;

    private static EgressCheck? LiteralHostCheck(OutboundTarget target, EgressRule rule)
    {
        if (!IPAddress.TryParse(target.Host, out var address))
        {
            return null;
        }
        return rule.Check(target.Host, [address]) is { } reason
            ? Fail(target.Id, target.Title, $"{target.What}: {reason}", FixFor(rule) + " for it", null)
            : Pass(target.Id, target.Title, $"{target.What}: {EgressRule.DescribeAddresses([address])}");
    }

    /// <summary>Where a failing outbound check points in airlock.yaml, or null for upstream and deployment checks.</summary>
    private static string? OutboundLocation(AirlockConfig config, EgressCheck check)
    {
        if (check.Id.StartsWith(SiemPrefix, StringComparison.Ordinal))
        {
            var name = check.Id[SiemPrefix.Length..];
            for (var i = 0; i < config.Siem.Sinks.Count; i++)
            {
                if (config.Siem.Sinks[i].Name == name)
                {
                    return $"siem.sinks[{i}] ({name})";
                }
            }
        }
        return check.Id.StartsWith("audit.store", StringComparison.Ordinal) ? $"audit.postgres.connection_string_env ({config.Audit.PostgresConnectionStringEnv})" : null;
    }
}

using System.Text.Json;
using Airlock.Core.Configuration;
using Airlock.Core.Egress;
using Airlock.Core.Posture;

namespace Airlock.Tests.Egress;

/// <summary>
/// Issue 5: the gateway's outbound connections besides upstreams (SIEM sinks, the PostgreSQL audit store) are checks
/// of the evaluator, so startup refuses them and posture shows them with evidence. Names resolve through a stub.
/// </summary>
public sealed class OutboundEgressTests
{
    private const string PgVariable = "AUDIT_PG";
    private const string PgPassword = "pg-password-that-must-not-appear";

    private static AirlockConfig Config(int level, string? connectionString, params SiemSinkConfig[] sinks)
    {
        var config = ConfigLoader.Parse($"""
            level: {level}
            upstreams:
              - name: local
                kind: messages
                url: http://10.0.0.12:8000
            routes:
              - models: "*"
                upstream: local
            """, "airlock.yaml", "/srv/airlock", new Dictionary<string, string?>());
        return config with
        {
            Siem = new SiemConfig { Sinks = sinks },
            Audit = connectionString is null ? config.Audit : config.Audit with { Store = AuditStoreKind.Postgres, PostgresConnectionStringEnv = PgVariable },
        };
    }

    private static Func<string, string?> Env(string? connectionString) => name => name == PgVariable ? connectionString : null;

    private static SiemSinkConfig Webhook(string name, string url) => new() { Name = name, Kind = SiemSinkKind.Webhook, Url = new Uri(url), SecretEnv = "S" };

    private static SiemSinkConfig Syslog(string name, string host) => new() { Name = name, Kind = SiemSinkKind.Syslog, Host = host, Port = 6514, Transport = SyslogTransport.Tls };

    [Fact]
    public async Task Level_2_checks_each_siem_sink_and_each_postgres_server_with_resolved_addresses_as_evidence()
    {
        var cs = $"Host=pg.corp.test,pg2.example.net:6432;Password={PgPassword};SSL Mode=Require";
        var config = Config(2, cs, Webhook("soc", "https://siem.corp.test/hook/T0KEN?secret=abc"), Syslog("collector", "8.8.8.8"));
        var resolver = new StubResolver(new()
        {
            ["siem.corp.test"] = ["10.4.0.9"],
            ["pg.corp.test"] = ["10.9.0.4"],
            ["pg2.example.net"] = ["198.51.100.20"],
        });

        var report = await EgressEvaluator.EvaluateAsync(config, resolver, CancellationToken.None, Env(cs));

        var soc = Assert.Single(report.Checks, c => c.Id == "siem.soc");
        Assert.Equal(CheckStatus.Pass, soc.Status);
        Assert.Equal("webhook https://siem.corp.test: siem.corp.test → 10.4.0.9 (private RFC 1918)", soc.Evidence);
        var collector = Assert.Single(report.Checks, c => c.Id == "siem.collector");
        Assert.Equal(CheckStatus.Fail, collector.Status);
        Assert.Contains("syslog tls 8.8.8.8:6514", collector.Evidence, StringComparison.Ordinal);
        var servers = report.Checks.Where(c => c.Id == "audit.store.addresses").ToList();
        Assert.Equal(2, servers.Count);
        Assert.Equal(CheckStatus.Pass, servers[0].Status);
        Assert.StartsWith($"postgres pg.corp.test:5432 (from {PgVariable}, SSL Mode Require): pg.corp.test → 10.9.0.4", servers[0].Evidence, StringComparison.Ordinal);
        Assert.Equal(CheckStatus.Fail, servers[1].Status);
        Assert.Contains("198.51.100.20 (public)", servers[1].Evidence, StringComparison.Ordinal);
        Assert.Equal(CheckStatus.Pass, Assert.Single(report.Checks, c => c.Id == "audit.store.tls").Status);

        var violations = EgressEvaluator.Violations(config, report);
        Assert.Equal(2, violations.Count);
        Assert.StartsWith("siem.sinks[1] (collector): ", violations[0], StringComparison.Ordinal);
        Assert.StartsWith($"audit.postgres.connection_string_env ({PgVariable}): ", violations[1], StringComparison.Ordinal);
        Assert.All(report.Checks, c => Assert.DoesNotContain(PgPassword, c.Evidence + c.Fix, StringComparison.Ordinal));
        Assert.All(report.Checks, c => Assert.DoesNotContain("T0KEN", c.Evidence + c.Fix, StringComparison.Ordinal));
    }

    [Fact]
    public void Offline_literal_public_addresses_fail_names_are_unknown_and_a_unix_socket_passes()
    {
        var cs = "Host=/run/postgresql,203.0.113.7;Username=airlock";
        var report = EgressEvaluator.Evaluate(Config(3, cs, Webhook("soc", "https://siem.corp.test/ingest")), Env(cs));

        Assert.Equal(CheckStatus.Unknown, Assert.Single(report.Checks, c => c.Id == "siem.soc").Status);
        var servers = report.Checks.Where(c => c.Id == "audit.store.addresses").ToList();
        Assert.Equal([CheckStatus.Pass, CheckStatus.Fail], servers.Select(c => c.Status));
        Assert.Contains("unix socket /run/postgresql", servers[0].Evidence, StringComparison.Ordinal);
        Assert.Contains("203.0.113.7 (", servers[1].Evidence, StringComparison.Ordinal);
        // Level 3 with a remote server and no SSL Mode: a warning (unknown), not a failure.
        var tls = Assert.Single(report.Checks, c => c.Id == "audit.store.tls");
        Assert.Equal(CheckStatus.Unknown, tls.Status);
        Assert.Contains("203.0.113.7:5432", tls.Evidence, StringComparison.Ordinal);
        Assert.Contains("VerifyFull", tls.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void Postgres_without_its_variable_is_unknown_and_a_malformed_string_fails_without_being_echoed()
    {
        var unset = EgressEvaluator.Evaluate(Config(2, "x"), _ => null);
        Assert.Equal(CheckStatus.Unknown, Assert.Single(unset.Checks, c => c.Id == "audit.store.addresses").Status);

        const string Bad = "Host=pg;Password='unterminated-secret";
        var bad = Assert.Single(EgressEvaluator.Evaluate(Config(2, Bad), Env(Bad)).Checks, c => c.Id == "audit.store.addresses");
        Assert.Equal(CheckStatus.Fail, bad.Status);
        Assert.DoesNotContain("unterminated-secret", bad.Evidence, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Host=db", "db:5432")]
    [InlineData("Server=db;Port=6000", "db:6000")]
    [InlineData("Host=a:1,[fd00::5]:2, b", "a:1|[fd00::5]:2|b:5432")]
    [InlineData("Host=fd00::5", "[fd00::5]:5432")]
    [InlineData("Host=@abstract", "unix socket @abstract")]
    public void Postgres_host_lists_parse_like_npgsql(string connectionString, string expected)
    {
        var endpoints = PostgresEndpoints.Parse(connectionString, null, out var problem);

        Assert.Null(problem);
        Assert.Equal(expected, string.Join('|', endpoints!.Servers));
    }

    [Fact]
    public void Posture_json_and_markdown_show_the_siem_and_audit_store_checks()
    {
        var cs = "Host=10.9.0.4;SSL Mode=VerifyFull";
        var config = Config(2, cs, Syslog("collector", "10.4.0.9"));
        var report = PostureBuilder.Build(config, new PostureInputs
        {
            EgressChecks = PostureEgress.From(EgressEvaluator.Evaluate(config, Env(cs))),
            Audit = new AuditProbe("postgres", true, true, "1 record"),
            Rules = new RulesProbe(true, "b3f1c2", 220, "built-in pack"),
            GeneratedAt = new DateTimeOffset(2026, 11, 24, 6, 0, 0, TimeSpan.Zero),
            GetEnvironment = Env(cs),
        });

        using var json = JsonDocument.Parse(PostureRenderer.Json(report));
        var checks = json.RootElement.GetProperty("checks").EnumerateArray().ToDictionary(c => c.GetProperty("id").GetString()!);
        Assert.Equal("pass", checks["siem.collector"].GetProperty("status").GetString());
        Assert.Equal("syslog tls 10.4.0.9:6514: 10.4.0.9 (private RFC 1918)", checks["siem.collector"].GetProperty("evidence").GetString());
        Assert.Equal("pass", checks["audit.store.addresses"].GetProperty("status").GetString());
        Assert.Contains("postgres 10.9.0.4:5432", checks["audit.store.addresses"].GetProperty("evidence").GetString(), StringComparison.Ordinal);
        Assert.Contains("SSL Mode VerifyFull", checks["audit.store.tls"].GetProperty("evidence").GetString(), StringComparison.Ordinal);

        var markdown = PostureRenderer.Markdown(report);
        Assert.Contains("(`siem.collector`)", markdown, StringComparison.Ordinal);
        Assert.Contains("syslog tls 10.4.0.9:6514", markdown, StringComparison.Ordinal);
        Assert.Contains("(`audit.store.addresses`)", markdown, StringComparison.Ordinal);
        Assert.Contains("(`audit.store.tls`)", markdown, StringComparison.Ordinal);
    }
}

using Airlock.Core.Configuration;
using Airlock.Testing;
using Xunit.Abstractions;

namespace Airlock.FunctionalTests.Egress;

/// <summary>
/// Issue 5, "startup fails, listing every violation": the gateway's other outbound connections (a SIEM sink, the
/// PostgreSQL audit store) are refused at startup with the upstreams' violations, in one list, by the same evaluator
/// posture runs. Names resolve through a stub the test controls; nothing is dialed (startup stops before the store opens).
/// </summary>
public sealed class OutboundEgressStartupTests(ITestOutputHelper output)
{
    private const string PostgresVariable = "AIRLOCK_TEST_PG";

    [Fact]
    public async Task Level_2_startup_lists_a_public_siem_host_and_a_public_postgres_host_with_the_upstreams_violations()
    {
        var resolver = new SwitchableResolver()
            .Set("llm.corp.test", "10.0.0.5", "34.1.2.3")
            .Set("siem.corp.test", "93.184.216.34")
            .Set("pg.corp.test", "10.9.0.4")
            .Set("pg-replica.example.net", "198.51.100.20");

        var ex = await Assert.ThrowsAsync<ConfigurationException>(() => GatewayHarness.StartAsync(output, config => config with
        {
            Level = 2,
            Upstreams = [config.Upstreams[0] with { Kind = UpstreamKind.Messages, Url = new Uri("http://llm.corp.test:8000") }],
            Siem = new SiemConfig { Sinks = [new SiemSinkConfig { Name = "soc", Kind = SiemSinkKind.Webhook, Url = new Uri("https://siem.corp.test/ingest?token=never-shown"), SecretEnv = "AIRLOCK_TEST_SIEM_SECRET" }] },
            Audit = config.Audit with { Store = AuditStoreKind.Postgres, PostgresConnectionStringEnv = PostgresVariable },
        }, upstreamKind: UpstreamKind.Messages, hostResolver: resolver,
        environment: name => name switch
        {
            PostgresVariable => "Host=pg.corp.test,pg-replica.example.net:6432;Username=airlock;Password=pg-secret-never-shown;SSL Mode=VerifyFull",
            "AIRLOCK_TEST_SIEM_SECRET" => "test-webhook-secret-0123456789",
            _ => null,
        }));

        foreach (var error in ex.Errors)
        {
            output.WriteLine(error);
        }
        Assert.Contains(ex.Errors, e => e.StartsWith("upstreams[0] (", StringComparison.Ordinal) && e.Contains("34.1.2.3 (public)", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("siem.sinks[0] (soc): ", StringComparison.Ordinal) && e.Contains("93.184.216.34 (public)", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith($"audit.postgres.connection_string_env ({PostgresVariable}): ", StringComparison.Ordinal)
            && e.Contains("pg-replica.example.net:6432", StringComparison.Ordinal) && e.Contains("198.51.100.20 (public)", StringComparison.Ordinal));
        Assert.DoesNotContain(ex.Errors, e => e.Contains("pg.corp.test:5432", StringComparison.Ordinal)); // the private primary passes
        Assert.DoesNotContain(ex.Errors, e => e.Contains("pg-secret", StringComparison.Ordinal) || e.Contains("never-shown", StringComparison.Ordinal));
        Assert.Equal(3, ex.Errors.Count);
    }
}

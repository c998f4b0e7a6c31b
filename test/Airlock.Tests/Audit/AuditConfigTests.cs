using Airlock.Core.Configuration;

namespace Airlock.Tests.Audit;

public sealed class AuditConfigTests
{
    private const string Base = """
        level: 3
        upstreams:
          - name: onprem
            kind: messages
            url: http://10.0.0.5:8000
        routes:
          - models: "*"
            upstream: onprem

        """;

    private static AirlockConfig Parse(string audit) => ConfigLoader.Parse(Base + audit, "airlock.yaml", "/srv/airlock", new Dictionary<string, string?>());

    [Fact]
    public void Defaults_are_sqlite_refuse_and_thirty_second_checkpoints()
    {
        var audit = Parse("").Audit;

        Assert.Equal(AuditStoreKind.Sqlite, audit.Store);
        Assert.Equal(AuditFailureMode.Refuse, audit.OnStoreFailure);
        Assert.Equal(TimeSpan.FromSeconds(30), audit.CheckpointInterval);
        Assert.Null(audit.PostgresConnectionStringEnv);
    }

    [Fact]
    public void Postgres_spool_and_interval_are_read()
    {
        var audit = Parse("""
            audit:
              store: postgres
              postgres:
                connection_string_env: AIRLOCK_AUDIT_PG
              on_store_failure: spool
              checkpoint_interval: 5m
              shutdown_timeout: 2m
            """).Audit;

        Assert.Equal(AuditStoreKind.Postgres, audit.Store);
        Assert.Equal("AIRLOCK_AUDIT_PG", audit.PostgresConnectionStringEnv);
        Assert.Equal(AuditFailureMode.Spool, audit.OnStoreFailure);
        Assert.Equal(TimeSpan.FromMinutes(5), audit.CheckpointInterval);
        Assert.Equal(TimeSpan.FromMinutes(2), audit.ShutdownTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), new AuditConfig().ShutdownTimeout);
    }

    [Theory]
    [InlineData("", AuditDurability.Commit)]
    [InlineData("audit:\n  durable: true\n", AuditDurability.Commit)]
    [InlineData("audit:\n  durable: journal\n", AuditDurability.Journal)]
    [InlineData("audit:\n  durable: commit\n", AuditDurability.Commit)]
    [InlineData("audit:\n  durable: false\n", AuditDurability.Off)]
    public void Durable_is_commit_by_default_or_the_journal_or_off(string yaml, AuditDurability expected)
    {
        Assert.Equal(expected, Parse(yaml).Audit.Durability);
        var errors = Assert.Throws<ConfigurationException>(() => Parse("audit:\n  durable: sometimes\n")).Errors;
        Assert.Contains(errors, e => e.Contains("audit.durable", StringComparison.Ordinal) && e.Contains("commit", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_audit_error_is_listed_with_its_path()
    {
        var errors = Assert.Throws<ConfigurationException>(() => Parse("""
            audit:
              store: mysql
              on_store_failure: ignore
              checkpoint_interval: 100ms
              shutdown_timeout: 0s
              bogus: 1
            """)).Errors;
        var postgresWithoutVariable = Assert.Throws<ConfigurationException>(() => Parse("""
            audit:
              store: postgres
            """)).Errors;

        Assert.Contains(errors, e => e.Contains("audit.store", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("audit.on_store_failure", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("audit.checkpoint_interval", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("audit.shutdown_timeout", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("audit.bogus", StringComparison.Ordinal));
        Assert.Contains(postgresWithoutVariable, e => e.Contains("audit.postgres.connection_string_env", StringComparison.Ordinal));
    }
}

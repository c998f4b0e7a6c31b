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
    [InlineData("", AuditDurability.Journal)]
    [InlineData("audit:\n  durable: true\n", AuditDurability.Journal)]
    [InlineData("audit:\n  store: postgres\n  postgres:\n    connection_string_env: PG\n", AuditDurability.Commit)]
    [InlineData("audit:\n  store: postgres\n  durable: true\n  postgres:\n    connection_string_env: PG\n", AuditDurability.Commit)]
    [InlineData("audit:\n  store: postgres\n  durable: journal\n  postgres:\n    connection_string_env: PG\n", AuditDurability.Journal)]
    [InlineData("audit:\n  durable: journal\n", AuditDurability.Journal)]
    [InlineData("audit:\n  durable: commit\n", AuditDurability.Commit)]
    [InlineData("audit:\n  durable: false\n", AuditDurability.Off)]
    public void Durable_true_is_the_journal_with_sqlite_and_the_commit_with_postgres(string yaml, AuditDurability expected)
    {
        var audit = Parse(yaml).Audit;
        Assert.Equal(expected, audit.Durability);
        Assert.False(audit.JournalFsync);
        var errors = Assert.Throws<ConfigurationException>(() => Parse("audit:\n  durable: sometimes\n")).Errors;
        Assert.Contains(errors, e => e.Contains("audit.durable", StringComparison.Ordinal) && e.Contains("commit", StringComparison.Ordinal));
    }

    [Fact]
    public void The_record_default_follows_the_store_and_an_explicit_value_survives_a_store_change()
    {
        Assert.Equal(AuditDurability.Journal, new AuditConfig().Durability);
        Assert.Equal(AuditDurability.Commit, new AuditConfig { Store = AuditStoreKind.Postgres }.Durability);
        Assert.Equal(AuditDurability.Off, (new AuditConfig { Durability = AuditDurability.Off } with { Store = AuditStoreKind.Postgres }).Durability);
    }

    [Theory]
    [InlineData("audit:\n  journal:\n    fsync: true\n")]
    [InlineData("audit:\n  durable: journal\n  journal:\n    fsync: true\n")]
    [InlineData("audit:\n  durable: true\n  journal:\n    fsync: true\n")]
    public void Journal_fsync_turns_on_fsynced_begin_entries(string yaml) => Assert.True(Parse(yaml).Audit.JournalFsync);

    [Theory]
    [InlineData("audit:\n  durable: commit\n  journal:\n    fsync: true\n", "audit.durable is commit")]
    [InlineData("audit:\n  durable: false\n  journal:\n    fsync: true\n", "audit.durable is false")]
    [InlineData("audit:\n  store: postgres\n  postgres:\n    connection_string_env: PG\n  journal:\n    fsync: true\n", "means commit with audit.store postgres")]
    [InlineData("audit:\n  journal:\n    fsync: sometimes\n", "audit.journal.fsync")]
    public void Journal_fsync_without_the_journal_is_a_precise_error(string yaml, string expected)
    {
        var errors = Assert.Throws<ConfigurationException>(() => Parse(yaml)).Errors;
        Assert.Contains(errors, e => e.Contains("audit.journal.fsync", StringComparison.Ordinal) && e.Contains(expected, StringComparison.Ordinal));
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

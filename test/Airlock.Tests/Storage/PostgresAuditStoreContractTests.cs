using Airlock.Core.Audit;
using Airlock.Storage.Postgres;
using Npgsql;

namespace Airlock.Tests.Storage;

/// <summary>The audit store contract on PostgreSQL (a real server: see <see cref="PostgresServer"/>).</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresAuditStoreContractTests(PostgresServer server) : AuditStoreContractTests
{
    private string _connectionString = "";

    protected override async Task<IAuditStore> OpenStoreAsync()
    {
        _connectionString = await server.CreateDatabaseAsync();
        return await PostgresAuditStore.OpenAsync(_connectionString);
    }

    protected override async Task<IAuditStore> OpenSecondStoreAsync() => await PostgresAuditStore.OpenAsync(_connectionString);

    protected override async Task ExecuteSqlAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await server.DropDatabaseAsync(_connectionString);
    }

    [Fact]
    public async Task Replicas_opening_one_database_together_migrate_it_once()
    {
        var stores = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => PostgresAuditStore.OpenAsync(_connectionString)));
        try
        {
            await Task.WhenAll(stores.Select((s, i) => s.AppendAsync([AuditSamplesFor.Request(i)])));
            Assert.Equal(4, (await Store.GetChainHeadAsync()).Sequence);
        }
        finally
        {
            foreach (var store in stores)
            {
                store.Dispose();
            }
        }
    }

    [Fact]
    public async Task A_schema_from_a_newer_version_is_refused()
    {
        await ExecuteSqlAsync("UPDATE airlock_schema SET version = 99 WHERE component = 'audit'");

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => PostgresAuditStore.OpenAsync(_connectionString));

        Assert.Contains("newer", ex.Message, StringComparison.Ordinal);
    }

    private static class AuditSamplesFor
    {
        public static AuditRecord Request(int i) => Audit.AuditSamples.Request("replica-" + i, Audit.AuditSamples.T0);
    }
}

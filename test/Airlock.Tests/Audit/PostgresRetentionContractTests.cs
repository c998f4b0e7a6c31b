using Airlock.Core.Audit;
using Airlock.Storage.Postgres;
using Airlock.Tests.Storage;
using Npgsql;

namespace Airlock.Tests.Audit;

/// <summary>Retention, erasure and capture on PostgreSQL (a real server: see <see cref="PostgresServer"/>).</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresRetentionContractTests(PostgresServer server) : RetentionContractTests
{
    private string _connectionString = "";

    protected override async Task<IAuditStore> OpenStoreAsync()
    {
        _connectionString = await server.CreateDatabaseAsync();
        return await PostgresAuditStore.OpenAsync(_connectionString);
    }

    protected override async Task<IAuditStore> OpenSecondStoreAsync() => await PostgresAuditStore.OpenAsync(_connectionString);

    protected override async Task<IAuditStore> ReopenFromSchemaWithoutDetailAsync()
    {
        await ExecuteSqlAsync("ALTER TABLE audit_records DROP COLUMN detail; UPDATE airlock_schema SET version = 2 WHERE component = 'audit';");
        return await PostgresAuditStore.OpenAsync(_connectionString);
    }

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
}

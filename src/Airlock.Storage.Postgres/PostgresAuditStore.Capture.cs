using System.Runtime.CompilerServices;
using Airlock.Core.Audit;
using Airlock.Core.Audit.Capture;
using Npgsql;
using NpgsqlTypes;

namespace Airlock.Storage.Postgres;

/// <summary>Retention, subject erasure and encrypted content capture over the PostgreSQL trail.</summary>
public sealed partial class PostgresAuditStore : IAuditRetentionStore, IAuditContentStore
{
    private const string ContentColumns = "request_id, time, user_name, team, mode, period, nonce, ciphertext";

    /// <inheritdoc/>
    public async Task<long> DeleteRecordsThroughAsync(long throughSequence, CancellationToken cancellationToken = default)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var checkpoints = new NpgsqlCommand("DELETE FROM audit_checkpoints WHERE seq <= @through", connection, transaction))
        {
            checkpoints.Parameters.AddWithValue("through", throughSequence);
            await checkpoints.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        long deleted;
        await using (var records = new NpgsqlCommand("DELETE FROM audit_records WHERE seq <= @through", connection, transaction))
        {
            records.Parameters.AddWithValue("through", throughSequence);
            deleted = await records.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return deleted;
    }

    /// <inheritdoc/>
    public async Task<SubjectErasureCount> PseudonymiseUserAsync(string user, string pseudonym, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(user);
        ArgumentException.ThrowIfNullOrEmpty(pseudonym);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        long erased;
        await using (var update = new NpgsqlCommand("""
            UPDATE audit_records SET user_name = @pseudonym, client_address = NULL, identity_salt = NULL
            WHERE user_name = @user AND identity_commitment IS NOT NULL
            """, connection, transaction))
        {
            update.Parameters.AddWithValue("user", NpgsqlDbType.Text, user);
            update.Parameters.AddWithValue("pseudonym", NpgsqlDbType.Text, pseudonym);
            erased = await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        long left;
        await using (var count = new NpgsqlCommand("SELECT COUNT(*) FROM audit_records WHERE user_name = @user", connection, transaction))
        {
            count.Parameters.AddWithValue("user", NpgsqlDbType.Text, user);
            left = (long)(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) ?? 0L);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new SubjectErasureCount(erased, left);
    }

    /// <inheritdoc/>
    public async Task AppendContentAsync(IReadOnlyList<SealedContent> items, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count == 0)
        {
            return;
        }
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var batch = new NpgsqlBatch(connection);
        await using (batch)
        {
            foreach (var item in items)
            {
                var command = new NpgsqlBatchCommand($"""
                    INSERT INTO audit_content ({ContentColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (request_id) DO NOTHING
                    """);
                command.Parameters.Add(new NpgsqlParameter { Value = item.RequestId, NpgsqlDbType = NpgsqlDbType.Text });
                command.Parameters.Add(new NpgsqlParameter { Value = item.Time.ToUnixTimeMilliseconds(), NpgsqlDbType = NpgsqlDbType.Bigint });
                command.Parameters.Add(new NpgsqlParameter { Value = (object?)item.User ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
                command.Parameters.Add(new NpgsqlParameter { Value = (object?)item.Team ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
                command.Parameters.Add(new NpgsqlParameter { Value = item.Mode, NpgsqlDbType = NpgsqlDbType.Text });
                command.Parameters.Add(new NpgsqlParameter { Value = item.Period, NpgsqlDbType = NpgsqlDbType.Text });
                command.Parameters.Add(new NpgsqlParameter { Value = item.Nonce, NpgsqlDbType = NpgsqlDbType.Bytea });
                command.Parameters.Add(new NpgsqlParameter { Value = item.Ciphertext, NpgsqlDbType = NpgsqlDbType.Bytea });
                batch.BatchCommands.Add(command);
            }
            // One round trip, one implicit transaction for the whole batch.
            await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<SealedContent> ReadContentOfUserAsync(string user, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var command = _dataSource.CreateCommand($"SELECT {ContentColumns} FROM audit_content WHERE user_name = @user ORDER BY time, request_id");
        command.Parameters.AddWithValue("user", NpgsqlDbType.Text, user);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return ReadContent(reader);
        }
    }

    /// <inheritdoc/>
    public async Task<SealedContent?> FindContentAsync(string requestId, CancellationToken cancellationToken = default)
    {
        await using var command = _dataSource.CreateCommand($"SELECT {ContentColumns} FROM audit_content WHERE request_id = @id");
        command.Parameters.AddWithValue("id", NpgsqlDbType.Text, requestId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadContent(reader) : null;
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<ContentIndexEntry> ReadContentIndexAsync(DateTimeOffset olderThan, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var command = _dataSource.CreateCommand("SELECT request_id, time, team, mode FROM audit_content WHERE time < @before ORDER BY time");
        command.Parameters.AddWithValue("before", olderThan.ToUnixTimeMilliseconds());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return new ContentIndexEntry(reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
                reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetString(3));
        }
    }

    /// <inheritdoc/>
    public async Task<long> DeleteContentAsync(IReadOnlyList<string> requestIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requestIds);
        if (requestIds.Count == 0)
        {
            return 0;
        }
        await using var command = _dataSource.CreateCommand("DELETE FROM audit_content WHERE request_id = ANY(@ids)");
        command.Parameters.AddWithValue("ids", requestIds.ToArray());
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<long> DeleteContentOfUserAsync(string user, CancellationToken cancellationToken = default)
    {
        await using var command = _dataSource.CreateCommand("DELETE FROM audit_content WHERE user_name = @user");
        command.Parameters.AddWithValue("user", NpgsqlDbType.Text, user);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<WrappedDataKey?> FindDataKeyAsync(string period, CancellationToken cancellationToken = default)
    {
        await using var command = _dataSource.CreateCommand("SELECT period, master_key_id, wrapped_key, created_at FROM audit_content_keys WHERE period = @period");
        command.Parameters.AddWithValue("period", NpgsqlDbType.Text, period);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? new WrappedDataKey(reader.GetString(0), reader.GetString(1), (byte[])reader.GetValue(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)))
            : null;
    }

    /// <inheritdoc/>
    public async Task<WrappedDataKey> AddDataKeyAsync(WrappedDataKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        await using (var command = _dataSource.CreateCommand("""
            INSERT INTO audit_content_keys (period, master_key_id, wrapped_key, created_at) VALUES (@period, @master, @wrapped, @created)
            ON CONFLICT (period) DO NOTHING
            """))
        {
            command.Parameters.AddWithValue("period", NpgsqlDbType.Text, key.Period);
            command.Parameters.AddWithValue("master", NpgsqlDbType.Text, key.MasterKeyId);
            command.Parameters.AddWithValue("wrapped", key.Wrapped);
            command.Parameters.AddWithValue("created", key.CreatedAt.ToUnixTimeMilliseconds());
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        return await FindDataKeyAsync(key.Period, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"data key of {key.Period} vanished while it was stored");
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<string>> DeleteDataKeysBeforeAsync(string period, CancellationToken cancellationToken = default)
    {
        await using var command = _dataSource.CreateCommand("DELETE FROM audit_content_keys WHERE period < @period RETURNING period");
        command.Parameters.AddWithValue("period", NpgsqlDbType.Text, period);
        var periods = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            periods.Add(reader.GetString(0));
        }
        return periods;
    }

    private static SealedContent ReadContent(NpgsqlDataReader reader) => new(
        reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
        reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
        reader.GetString(4), reader.GetString(5), (byte[])reader.GetValue(6), (byte[])reader.GetValue(7));
}

using System.Runtime.CompilerServices;
using Airlock.Core.Audit;
using Airlock.Core.Audit.Capture;
using Microsoft.Data.Sqlite;

namespace Airlock.Storage.Sqlite;

/// <summary>Retention, subject erasure and encrypted content capture over the SQLite trail.</summary>
public sealed partial class SqliteStore : IAuditRetentionStore, IAuditContentStore, ISubjectKeyStore
{
    private const string ContentColumns = "request_id, time, user_name, team, mode, period, nonce, ciphertext";

    /// <inheritdoc/>
    public async Task<long> DeleteRecordsThroughAsync(long throughSequence, CancellationToken cancellationToken = default)
    {
        // Through the append gate: the appender's connection and this delete never interleave inside one process.
        await _appendGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "DELETE FROM audit_checkpoints WHERE seq <= $through";
            command.Parameters.AddWithValue("$through", throughSequence);
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            command.CommandText = "DELETE FROM audit_records WHERE seq <= $through";
            long deleted = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return deleted;
        }
        finally
        {
            _appendGate.Release();
        }
    }

    /// <inheritdoc/>
    public async Task<SubjectErasureCount> PseudonymiseUserAsync(string user, string pseudonym, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(user);
        ArgumentException.ThrowIfNullOrEmpty(pseudonym);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.Parameters.AddWithValue("$user", user);
        command.Parameters.AddWithValue("$pseudonym", pseudonym);
        command.CommandText = """
            UPDATE audit_records SET user_name = $pseudonym, client_address = NULL, identity_salt = NULL
            WHERE user_name = $user AND identity_commitment IS NOT NULL
            """;
        var erased = await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        command.CommandText = "SELECT COUNT(*) FROM audit_records WHERE user_name = $user";
        var left = (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) ?? 0L);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return new SubjectErasureCount(erased, left);
    }

    /// <inheritdoc/>
    public async Task<int> EraseKeyOwnerAsync(string user, string pseudonym, DateTimeOffset at, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE api_keys SET user_name = $pseudonym, description = NULL, revoked_at = COALESCE(revoked_at, $at)
            WHERE user_name = $user
            """;
        command.Parameters.AddWithValue("$user", user);
        command.Parameters.AddWithValue("$pseudonym", pseudonym);
        command.Parameters.AddWithValue("$at", at.ToUnixTimeMilliseconds());
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task AppendContentAsync(IReadOnlyList<SealedContent> items, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count == 0)
        {
            return;
        }
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"""
            INSERT INTO audit_content ({ContentColumns}) VALUES ($id, $time, $user, $team, $mode, $period, $nonce, $ciphertext)
            ON CONFLICT(request_id) DO NOTHING
            """;
        var id = command.Parameters.Add(new SqliteParameter("$id", ""));
        var time = command.Parameters.Add(new SqliteParameter("$time", 0L));
        var user = command.Parameters.Add(new SqliteParameter("$user", DBNull.Value));
        var team = command.Parameters.Add(new SqliteParameter("$team", DBNull.Value));
        var mode = command.Parameters.Add(new SqliteParameter("$mode", ""));
        var period = command.Parameters.Add(new SqliteParameter("$period", ""));
        var nonce = command.Parameters.Add(new SqliteParameter("$nonce", Array.Empty<byte>()));
        var ciphertext = command.Parameters.Add(new SqliteParameter("$ciphertext", Array.Empty<byte>()));
        foreach (var item in items)
        {
            id.Value = item.RequestId;
            time.Value = item.Time.ToUnixTimeMilliseconds();
            user.Value = Db(item.User);
            team.Value = Db(item.Team);
            mode.Value = item.Mode;
            period.Value = item.Period;
            nonce.Value = item.Nonce;
            ciphertext.Value = item.Ciphertext;
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<SealedContent> ReadContentOfUserAsync(string user, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {ContentColumns} FROM audit_content WHERE user_name = $user ORDER BY time, request_id";
        command.Parameters.AddWithValue("$user", user);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return ReadContent(reader);
        }
    }

    /// <inheritdoc/>
    public async Task<SealedContent?> FindContentAsync(string requestId, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {ContentColumns} FROM audit_content WHERE request_id = $id";
        command.Parameters.AddWithValue("$id", requestId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadContent(reader) : null;
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<ContentIndexEntry> ReadContentIndexAsync(DateTimeOffset olderThan, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT request_id, time, team, mode FROM audit_content WHERE time < $before ORDER BY time";
        command.Parameters.AddWithValue("$before", olderThan.ToUnixTimeMilliseconds());
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
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "DELETE FROM audit_content WHERE request_id = $id";
        var id = command.Parameters.Add(new SqliteParameter("$id", ""));
        long deleted = 0;
        foreach (var requestId in requestIds)
        {
            id.Value = requestId;
            deleted += await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return deleted;
    }

    /// <inheritdoc/>
    public async Task<long> DeleteContentOfUserAsync(string user, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM audit_content WHERE user_name = $user";
        command.Parameters.AddWithValue("$user", user);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task<WrappedDataKey?> FindDataKeyAsync(string period, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT period, master_key_id, wrapped_key, created_at FROM audit_content_keys WHERE period = $period";
        command.Parameters.AddWithValue("$period", period);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? new WrappedDataKey(reader.GetString(0), reader.GetString(1), (byte[])reader.GetValue(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)))
            : null;
    }

    /// <inheritdoc/>
    public async Task<WrappedDataKey> AddDataKeyAsync(WrappedDataKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        await using (var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false))
        using (var command = connection.CreateCommand())
        {
            command.CommandText = """
                INSERT INTO audit_content_keys (period, master_key_id, wrapped_key, created_at) VALUES ($period, $master, $wrapped, $created)
                ON CONFLICT(period) DO NOTHING
                """;
            command.Parameters.AddWithValue("$period", key.Period);
            command.Parameters.AddWithValue("$master", key.MasterKeyId);
            command.Parameters.AddWithValue("$wrapped", key.Wrapped);
            command.Parameters.AddWithValue("$created", key.CreatedAt.ToUnixTimeMilliseconds());
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        return await FindDataKeyAsync(key.Period, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"data key of {key.Period} vanished while it was stored");
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<string>> DeleteDataKeysBeforeAsync(string period, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM audit_content_keys WHERE period < $period RETURNING period";
        command.Parameters.AddWithValue("$period", period);
        var periods = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            periods.Add(reader.GetString(0));
        }
        return periods;
    }

    private static SealedContent ReadContent(SqliteDataReader reader) => new(
        reader.GetString(0), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1)),
        reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
        reader.GetString(4), reader.GetString(5), (byte[])reader.GetValue(6), (byte[])reader.GetValue(7));
}

namespace Airlock.Core.Audit;

/// <summary>Reads built on <see cref="IAuditStore.ReadAsync"/>, the same for every store.</summary>
public static class AuditStoreQueries
{
    /// <summary>Reads records matching <paramref name="query"/> into a list (newest first unless
    /// <see cref="AuditQuery.OldestFirst"/>); <see cref="AuditQuery.Limit"/> bounds the list.</summary>
    public static async Task<IReadOnlyList<AuditRecord>> QueryAsync(this IAuditStore store, AuditQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var records = new List<AuditRecord>();
        await foreach (var record in store.ReadAsync(query, cancellationToken).ConfigureAwait(false))
        {
            records.Add(record);
        }
        return records;
    }
}

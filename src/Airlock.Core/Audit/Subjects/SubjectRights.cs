using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Airlock.Core.Audit.Capture;
using Airlock.Core.Identity;

namespace Airlock.Core.Audit;

/// <summary>What an erasure did.</summary>
public sealed record SubjectErasureReport
{
    /// <summary>The pseudonym now standing for the person.</summary>
    public required string Pseudonym { get; init; }

    /// <summary>Keys revoked and renamed.</summary>
    public int Keys { get; init; }

    /// <summary>Chained records whose identity was pseudonymised.</summary>
    public long Records { get; init; }

    /// <summary>Version 1 records (from before schema 4) that still name the person: only retention removes them.</summary>
    public long Unerasable { get; init; }

    /// <summary>Captured contents deleted.</summary>
    public long ContentBlobs { get; init; }
}

/// <summary>
/// Data-subject requests (GDPR articles 15 and 17): export everything held about a person, and erase it. Erasure
/// deletes the person's captured content, revokes their keys and renames their owner, and pseudonymises their identity
/// in every chained record without touching a hash (see <see cref="AuditIdentity"/>); it is itself recorded as a
/// purge record naming the pseudonym, never the person.
/// </summary>
public sealed class SubjectRights(IAuditStore store, IAuditRetentionStore retentionStore, IAuditContentStore? contentStore,
    DataKeyRing? keyRing, IKeyStore? keyStore, ISubjectKeyStore? subjectKeys, TimeProvider time)
{
    /// <summary>Who runs the request (the erasure record's door).</summary>
    public string Actor { get; init; } = "cli";

    /// <summary>
    /// Writes the export of <paramref name="user"/> as one JSON document: keys (never their hashes), every chained
    /// record naming them (model calls, tool events), and their captured content, decrypted. Returns the record count.
    /// </summary>
    public async Task<long> ExportAsync(string user, Stream output, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(user);
        ArgumentNullException.ThrowIfNull(output);
        await using var json = new Utf8JsonWriter(output, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("format", "airlock-subject-export");
        json.WriteNumber("version", 1);
        json.WriteString("subject", user);
        json.WriteString("exported_at", time.GetUtcNow().ToString("O", CultureInfo.InvariantCulture));
        json.WriteStartArray("keys");
        if (keyStore is not null)
        {
            foreach (var key in (await keyStore.ListKeysAsync(cancellationToken).ConfigureAwait(false)).Where(k => k.User == user))
            {
                json.WriteStartObject();
                json.WriteString("id", key.Id);
                json.WriteString("user", key.User);
                WriteOptional(json, "team", key.Team);
                json.WriteString("role", key.Role.ToString().ToLowerInvariant());
                json.WriteString("created_at", key.CreatedAt.ToString("O", CultureInfo.InvariantCulture));
                WriteOptional(json, "expires_at", key.ExpiresAt?.ToString("O", CultureInfo.InvariantCulture));
                WriteOptional(json, "revoked_at", key.RevokedAt?.ToString("O", CultureInfo.InvariantCulture));
                WriteOptional(json, "description", key.Description);
                json.WriteEndObject();
            }
        }
        json.WriteEndArray();
        json.WriteStartArray("records");
        long records = 0;
        await foreach (var record in store.ReadAsync(new AuditQuery { User = user, OldestFirst = true, Limit = int.MaxValue }, cancellationToken).ConfigureAwait(false))
        {
            JsonSerializer.Serialize(json, record, ExportJsonContext.Default.AuditRecord);
            records++;
            if (records % 1_000 == 0)
            {
                await json.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        json.WriteEndArray();
        json.WriteStartArray("content");
        if (contentStore is not null)
        {
            await foreach (var item in contentStore.ReadContentOfUserAsync(user, cancellationToken).ConfigureAwait(false))
            {
                json.WriteStartObject();
                json.WriteString("request_id", item.RequestId);
                json.WriteString("time", item.Time.ToString("O", CultureInfo.InvariantCulture));
                json.WriteString("mode", item.Mode);
                var key = keyRing is null ? null : await keyRing.GetOpeningKeyAsync(item.Period, cancellationToken).ConfigureAwait(false);
                if (key is null)
                {
                    json.WriteString("unavailable", keyRing is null
                        ? "no capture master key is configured"
                        : $"the data key of {item.Period} was destroyed by retention");
                }
                else
                {
                    try
                    {
                        var content = ContentSealer.Open(key, item);
                        WriteOptional(json, "request", content.Request);
                        WriteOptional(json, "response", content.Response);
                        if (content.Truncated)
                        {
                            json.WriteBoolean("truncated", true);
                        }
                    }
                    catch (CryptographicException)
                    {
                        json.WriteString("unavailable", "the content does not open with its data key (altered or moved)");
                    }
                }
                json.WriteEndObject();
            }
        }
        json.WriteEndArray();
        json.WriteEndObject();
        await json.FlushAsync(cancellationToken).ConfigureAwait(false);
        return records;
    }

    /// <summary>
    /// Erases <paramref name="user"/>: content deleted, keys revoked and renamed, identity pseudonymised in every
    /// chained record, and the erasure recorded (a purge record with scope <c>subject</c> and the pseudonym).
    /// </summary>
    public async Task<SubjectErasureReport> EraseAsync(string user, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(user);
        if (AuditIdentity.IsErased(user))
        {
            throw new ArgumentException("that is already a pseudonym", nameof(user));
        }
        var now = time.GetUtcNow();
        var pseudonym = AuditIdentity.NewPseudonym();
        var content = contentStore is null ? 0 : await contentStore.DeleteContentOfUserAsync(user, cancellationToken).ConfigureAwait(false);
        var keys = subjectKeys is null ? 0 : await subjectKeys.EraseKeyOwnerAsync(user, pseudonym, now, cancellationToken).ConfigureAwait(false);
        var erased = await retentionStore.PseudonymiseUserAsync(user, pseudonym, cancellationToken).ConfigureAwait(false);
        var report = new SubjectErasureReport
        {
            Pseudonym = pseudonym,
            Keys = keys,
            Records = erased.Pseudonymised,
            Unerasable = erased.Unerasable,
            ContentBlobs = content,
        };
        await store.AppendAsync([new AuditRecord
        {
            Kind = AuditKind.Purge,
            RequestId = "erase-" + Guid.CreateVersion7(now).ToString("N"),
            Time = now,
            Door = Actor,
            Operation = "subject_erase",
            Outcome = AuditOutcome.Ok,
            Purge = new AuditPurgeDetails
            {
                Scope = AuditPurgeDetails.SubjectScope,
                Records = erased.Pseudonymised,
                Subject = pseudonym,
            },
        }], cancellationToken).ConfigureAwait(false);
        return report;
    }

    private static void WriteOptional(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }
}

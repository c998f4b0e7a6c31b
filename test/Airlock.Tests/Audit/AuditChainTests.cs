using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Airlock.Core.Audit;
using static Airlock.Tests.Audit.AuditSamples;

namespace Airlock.Tests.Audit;

public sealed class AuditChainTests : IDisposable
{
    private readonly AuditSigningKey _key = AuditSigningKey.FromSeed(RandomNumberGenerator.GetBytes(32));

    public void Dispose() => _key.Dispose();

    private AuditCheckpoint Checkpoint(AuditRecord record) =>
        _key.Sign(record.Chain!.Sequence, Convert.FromHexString(record.Chain.Hash), T0.AddHours(1));

    private Task<AuditVerification> VerifyAsync(IEnumerable<AuditRecord> records, IEnumerable<AuditCheckpoint>? checkpoints = null, bool partial = false) =>
        AuditChainVerifier.VerifyAsync(Async(records), Async(checkpoints ?? []), _key.PublicKey, partial);

    [Fact]
    public void Canonical_encoding_follows_the_documented_layout()
    {
        // Version 1 as docs/audit.md specifies it, written out by hand for a minimal record.
        var record = new AuditRecord
        {
            RequestId = "r",
            Time = DateTimeOffset.FromUnixTimeMilliseconds(1000),
            Door = "messages",
            Operation = "models",
            Status = 401,
            Outcome = AuditOutcome.Rejected,
            LatencyMs = 0.5,
        };
        var previous = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        var expected = new List<byte>();
        void Bytes(params byte[] b) => expected.AddRange(b);
        void Int64(long v)
        {
            var b = new byte[8];
            BinaryPrimitives.WriteInt64BigEndian(b, v);
            expected.AddRange(b);
        }
        void Str(string? s)
        {
            if (s is null)
            {
                Bytes(0);
                return;
            }
            Bytes(1);
            var u = Encoding.UTF8.GetBytes(s);
            var len = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(len, (uint)u.Length);
            expected.AddRange(len);
            expected.AddRange(u);
        }
        expected.AddRange("AIRLOCK-AUDIT-RECORD"u8.ToArray());
        Bytes(1);
        Int64(7);
        expected.AddRange(previous);
        Str("request");
        Str("r");
        Bytes(1); Int64(1000);
        Str("messages");
        Str("models");
        Str(null); Str(null); Str(null); Str(null); Str(null); Str(null); // key, user, team, session, model, upstream
        Bytes(1); Int64(401);
        Str("rejected");
        Str(null); // error type
        Bytes(1); Int64(BitConverter.DoubleToInt64Bits(0.5));
        Bytes(0); // ttfb
        Bytes(0); Bytes(0); Bytes(0); Bytes(0); // tokens
        Bytes(1); Int64(0); Bytes(1); Int64(0); // request/response bytes
        Str(null); Str(null); Str(null); Str(null); // body sha, upstream request id, user agent, client address
        Bytes(0, 0, 0, 0); // no findings
        Bytes(0); // no tool

        Assert.Equal(expected.ToArray(), AuditCanonicalEncoding.Encode(record, 7, previous));
        Assert.Equal(SHA256.HashData(expected.ToArray()), AuditCanonicalEncoding.Hash(record, 7, previous));
    }

    [Fact]
    public void Encoding_tells_null_from_empty_and_ignores_the_sign_of_zero_and_sub_millisecond_time()
    {
        var record = Request("r", T0);
        var zero = new byte[32];

        Assert.NotEqual(AuditCanonicalEncoding.Hash(record with { User = null }, 1, zero), AuditCanonicalEncoding.Hash(record with { User = "" }, 1, zero));
        Assert.Equal(AuditCanonicalEncoding.Hash(record with { LatencyMs = 0.0 }, 1, zero), AuditCanonicalEncoding.Hash(record with { LatencyMs = -0.0 }, 1, zero));
        Assert.Equal(AuditCanonicalEncoding.Hash(record, 1, zero), AuditCanonicalEncoding.Hash(record with { Time = T0.AddTicks(42) }, 1, zero));
        Assert.NotEqual(AuditCanonicalEncoding.Hash(record, 1, zero), AuditCanonicalEncoding.Hash(record, 2, zero));
    }

    [Fact]
    public void Every_field_is_covered_by_the_hash()
    {
        var record = ToolEvent("t", T0, "evt") with { Model = "m", Upstream = "u", ErrorType = "e", InputTokens = 1, BodySha256 = "b" };
        var zero = new byte[32];
        var baseline = AuditCanonicalEncoding.Hash(record, 1, zero);
        AuditRecord[] variants =
        [
            record with { Kind = AuditKind.Admin }, record with { RequestId = "x" }, record with { Time = T0.AddMilliseconds(1) },
            record with { Door = "x" }, record with { Operation = "x" }, record with { KeyId = "x" }, record with { User = "x" },
            record with { Team = "x" }, record with { SessionId = "x" }, record with { Model = "x" }, record with { Upstream = "x" },
            record with { Status = 500 }, record with { Outcome = AuditOutcome.Ok }, record with { ErrorType = "x" },
            record with { LatencyMs = 1 }, record with { TimeToFirstByteMs = 1 }, record with { InputTokens = 2 },
            record with { OutputTokens = 2 }, record with { CacheReadTokens = 2 }, record with { CacheCreationTokens = 2 },
            record with { RequestBytes = 2 }, record with { ResponseBytes = 2 }, record with { BodySha256 = "x" },
            record with { UpstreamRequestId = "x" }, record with { UserAgent = "x" }, record with { ClientAddress = "x" },
            record with { Findings = [new AuditFinding("a", "b", "c", "d", "e")] },
            record with { Tool = null }, record with { Tool = record.Tool! with { HookEvent = "x" } },
            record with { Tool = record.Tool! with { ToolName = "x" } }, record with { Tool = record.Tool! with { FilePaths = ["/x"] } },
            record with { Tool = record.Tool! with { Command = "x" } }, record with { Tool = record.Tool! with { CommandTruncated = false } },
            record with { Tool = record.Tool! with { Decision = ToolDecision.Allow } }, record with { Tool = record.Tool! with { DecisionReason = "x" } },
            record with { Tool = record.Tool! with { DurationMs = 1 } }, record with { Tool = record.Tool! with { Cwd = "x" } },
            record with { Tool = record.Tool! with { EventId = "x" } },
        ];

        var hashes = variants.Select(v => Convert.ToHexString(AuditCanonicalEncoding.Hash(v, 1, zero))).ToList();

        Assert.DoesNotContain(Convert.ToHexString(baseline), hashes);
        Assert.Equal(hashes.Count, hashes.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public async Task An_untouched_chain_with_checkpoints_verifies()
    {
        var records = Chain(10);

        var result = await VerifyAsync(records, [Checkpoint(records[3]), Checkpoint(records[9])]);

        Assert.True(result.Intact, result.Fault?.ToString());
        Assert.Equal(10, result.Records);
        Assert.Equal(1, result.FirstSequence);
        Assert.Equal(10, result.LastSequence);
        Assert.Equal(2, result.Checkpoints);
        Assert.Equal(new string('0', 64), records[0].Chain!.PreviousHash);
        Assert.All(records.Skip(1).Zip(records), pair => Assert.Equal(pair.Second.Chain!.Hash, pair.First.Chain!.PreviousHash));
    }

    [Fact]
    public async Task An_edited_record_is_named()
    {
        var records = Chain(10);
        records[4] = records[4] with { User = "mallory" };

        var fault = (await VerifyAsync(records)).Fault;

        Assert.NotNull(fault);
        Assert.Equal(5, fault.Sequence);
        Assert.Equal(records[4].RequestId, fault.RequestId);
        Assert.Contains("edited", fault.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_deleted_record_is_named()
    {
        var records = Chain(10);
        records.RemoveAt(6);

        var fault = (await VerifyAsync(records)).Fault;

        Assert.NotNull(fault);
        Assert.Equal(8, fault.Sequence);
        Assert.Contains("7..7 are missing", fault.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_deleted_record_with_renumbered_successors_is_caught_by_the_link()
    {
        var records = Chain(10);
        records.RemoveAt(6);
        // The forger renumbers and rehashes the successors without knowing how to fix the links.
        for (var i = 6; i < records.Count; i++)
        {
            var link = records[i].Chain!;
            var sequence = link.Sequence - 1;
            var hash = AuditCanonicalEncoding.Hash(records[i], sequence, Convert.FromHexString(link.PreviousHash), Convert.FromHexString(link.IdentityCommitment!));
            records[i] = records[i] with { Chain = link with { Sequence = sequence, Hash = Convert.ToHexStringLower(hash) } };
        }

        var fault = (await VerifyAsync(records)).Fault;

        Assert.NotNull(fault);
        Assert.Equal(7, fault.Sequence);
        Assert.Contains("link", fault.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_inserted_record_is_named()
    {
        var records = Chain(10);
        var forged = new AuditChainHead(records[4].Chain!.Sequence, Convert.FromHexString(records[4].Chain!.Hash)).Append(Request("forged", T0)).Record;
        records.Insert(5, forged);

        var fault = (await VerifyAsync(records)).Fault;

        Assert.NotNull(fault);
        Assert.Equal(6, fault.Sequence);
        Assert.Equal(records[6].RequestId, fault.RequestId);
    }

    [Fact]
    public async Task Reordered_records_are_named()
    {
        var records = Chain(10);
        (records[3], records[4]) = (records[4], records[3]);

        var fault = (await VerifyAsync(records)).Fault;

        Assert.NotNull(fault);
        Assert.Equal(5, fault.Sequence);
        Assert.Equal("r4", fault.RequestId);
    }

    [Fact]
    public async Task A_rewritten_chain_is_caught_by_the_signed_checkpoint()
    {
        var records = Chain(10);
        var checkpoint = Checkpoint(records[7]);
        // The forger edits record 3 and rebuilds every hash after it: links are consistent again.
        var head = new AuditChainHead(2, Convert.FromHexString(records[1].Chain!.Hash));
        for (var i = 2; i < records.Count; i++)
        {
            (records[i], head) = head.Append(i == 2 ? records[i] with { User = "mallory" } : records[i]);
        }

        var result = await VerifyAsync(records, [checkpoint]);

        Assert.NotNull(result.Fault);
        Assert.Equal(8, result.Fault.Sequence);
        Assert.Contains("checkpoint", result.Fault.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_forged_or_foreign_checkpoint_is_refused()
    {
        var records = Chain(5);
        var good = Checkpoint(records[4]);
        using var other = AuditSigningKey.FromSeed(RandomNumberGenerator.GetBytes(32));

        var altered = await VerifyAsync(records, [good with { Time = good.Time.AddSeconds(1) }]);
        var foreign = await VerifyAsync(records, [other.Sign(5, Convert.FromHexString(records[4].Chain!.Hash), T0)]);

        Assert.Contains("signature is invalid", altered.Fault!.Reason, StringComparison.Ordinal);
        Assert.Contains("not the trusted key", foreign.Fault!.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_truncated_tail_before_a_checkpoint_is_detected()
    {
        var records = Chain(10);
        var checkpoint = Checkpoint(records[9]);

        var result = await VerifyAsync(records.Take(8), [checkpoint]);

        Assert.NotNull(result.Fault);
        Assert.Equal(10, result.Fault.Sequence);
        Assert.Contains("removed from the end", result.Fault.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_partial_trail_counts_gaps_but_still_checks_each_record()
    {
        var records = Chain(10);
        var subset = records.Where((_, i) => i % 2 == 0).ToList();

        var intact = await VerifyAsync(subset, [Checkpoint(records[3])], partial: true);
        subset[2] = subset[2] with { Team = "x" };
        var edited = await VerifyAsync(subset, partial: true);

        Assert.True(intact.Intact, intact.Fault?.ToString());
        Assert.Equal(4, intact.Gaps);
        Assert.Equal(5, edited.Fault!.Sequence);
    }

    [Fact]
    public async Task Records_without_chain_fields_or_with_bad_hex_are_faults()
    {
        var records = Chain(3);

        var missing = await VerifyAsync([records[0], records[1] with { Chain = null }]);
        var badHex = await VerifyAsync([records[0] with { Chain = records[0].Chain! with { Hash = "zz" } }]);

        Assert.Contains("no chain fields", missing.Fault!.Reason, StringComparison.Ordinal);
        Assert.Contains("hex", badHex.Fault!.Reason, StringComparison.Ordinal);
    }

    private static AuditRecord AdminWithDetail(string requestId, string detail) => new()
    {
        Kind = AuditKind.Admin,
        RequestId = requestId,
        Time = T0,
        Door = "admin",
        Operation = "audit.list",
        User = "auditor-1",
        Outcome = AuditOutcome.Ok,
        Detail = detail,
    };

    // Before schema 5 an admin record kept its parameters in the tool-event fields.
    private static AuditRecord AdminWithToolDetails(string requestId, string parameters) => AdminWithDetail(requestId, "") with
    {
        Detail = null,
        Tool = new ToolEventDetails { HookEvent = "admin", ToolName = "audit.list", Command = parameters },
    };

    [Fact]
    public void A_record_with_a_detail_hashes_with_encoding_version_3_and_the_detail_is_covered()
    {
        var (record, _) = AuditChainHead.Genesis.Append(AdminWithDetail("a1", "GET /admin/v1/audit/records?user=ada"));
        var commitment = Convert.FromHexString(record.Chain!.IdentityCommitment!);
        var previous = new byte[32];

        var encoded = AuditCanonicalEncoding.Encode(record, 1, previous, commitment);
        var withoutDetail = AuditCanonicalEncoding.Encode(record with { Detail = null }, 1, previous, commitment);
        var detailBytes = Encoding.UTF8.GetBytes("GET /admin/v1/audit/records?user=ada");

        Assert.Equal(AuditCanonicalEncoding.Version3, encoded["AIRLOCK-AUDIT-RECORD".Length]);
        Assert.Equal(AuditCanonicalEncoding.Version2, withoutDetail["AIRLOCK-AUDIT-RECORD".Length]);
        // Version 3 is version 2 (version byte aside) followed by the detail string: 0x01, uint32 length, UTF-8 bytes.
        Assert.Equal(withoutDetail.AsSpan(21).ToArray(), encoded.AsSpan(21, withoutDetail.Length - 21).ToArray());
        Assert.Equal(withoutDetail.Length + 1 + 4 + detailBytes.Length, encoded.Length);
        Assert.Equal(detailBytes, encoded[^detailBytes.Length..]);
        Assert.Throws<ArgumentException>(() => AuditCanonicalEncoding.Encode(record, 1, previous));
    }

    [Fact]
    public async Task A_trail_mixing_old_admin_records_with_tool_details_and_new_ones_with_a_detail_verifies_and_detail_edits_are_named()
    {
        var head = AuditChainHead.Genesis;
        var records = new List<AuditRecord>();
        foreach (var record in new[] { Request("r1", T0), AdminWithToolDetails("old-admin", "GET /admin/v1/audit/records"), AdminWithDetail("new-admin", "role=developer"), Request("r2", T0) })
        {
            (var chained, head) = head.Append(record);
            records.Add(chained);
        }

        var intact = await VerifyAsync(records, [Checkpoint(records[^1])]);
        var edited = await VerifyAsync([records[0], records[1], records[2] with { Detail = "role=admin" }, records[3]]);
        var removed = await VerifyAsync([records[0], records[1], records[2] with { Detail = null }, records[3]]);
        var added = await VerifyAsync([records[0], records[1] with { Detail = "GET /admin/v1/audit/records" }, records[2], records[3]]);
        var onVersion1 = await VerifyAsync([records[0], records[1], records[2] with { Chain = records[2].Chain! with { IdentityCommitment = null } }]);

        Assert.True(intact.Intact, intact.Fault?.ToString());
        Assert.Equal(3, edited.Fault!.Sequence);
        Assert.Contains("edited", edited.Fault.Reason, StringComparison.Ordinal);
        Assert.Equal(3, removed.Fault!.Sequence);
        Assert.Equal(2, added.Fault!.Sequence);
        Assert.Contains("detail on a version 1 record", onVersion1.Fault!.Reason, StringComparison.Ordinal);
    }
}

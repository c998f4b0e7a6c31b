using System.Buffers;
using System.Net;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Protocols.Aws.Bedrock;
using Airlock.Protocols.Aws.Signing;
using Airlock.Testing;

namespace Airlock.FunctionalTests;

/// <summary>
/// Bad input that reaches the gateway through the Bedrock door (issue 4): a Bedrock upstream that sends a corrupt
/// event-stream frame, a model id outside <c>allowed_regions</c>, and AWS credentials Bedrock refuses as expired. Each
/// gets an AWS-shaped error (JSON with <c>x-amzn-ErrorType</c> before the stream, an exception frame after), one audit
/// record with a precise error type, and no credential in the answer, the log or the trail.
/// </summary>
public sealed class BedrockDoorBadInputTests(ITestOutputHelper output)
{
    private const string MessageStart =
        "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_bdrk_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\",\"content\":[]," +
        "\"stop_reason\":null,\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}";

    private const string BlockStart = "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}";

    private const string Delta = "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Half an answer\"}}";

    private const string BlockStop = "{\"type\":\"content_block_stop\",\"index\":0}";

    private const string MessageDelta = "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":3}}";

    private const string MessageStop = "{\"type\":\"message_stop\"}";

    public enum Corruption
    {
        /// <summary>The frame's trailing message CRC does not match.</summary>
        MessageChecksum,

        /// <summary>The prelude's CRC does not match (the length fields cannot be trusted).</summary>
        PreludeChecksum,

        /// <summary>The upstream closes the body cleanly in the middle of a frame.</summary>
        Truncated,
    }

    /// <summary>
    /// A Bedrock Runtime stand-in that checks the SigV4 signature like the scripted Bedrock (its verifier, the test
    /// credentials), answers <c>invoke-with-response-stream</c> with <paramref name="goodFrames"/> valid chunk frames,
    /// then one frame broken as <paramref name="corruption"/> says.
    /// </summary>
    private static Task<ProbeUpstream> CorruptBedrockAsync(int goodFrames, Corruption corruption, List<BedrockAuthVerdict> verdicts)
    {
        var verifier = new BedrockSigV4Verifier(ScriptedUpstream.BedrockRegion, null, BedrockSigV4Verifier.TestCredentials);
        return ProbeUpstream.StartAsync(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            var verdict = verifier.Verify(context.Request, body.ToArray());
            lock (verdicts)
            {
                verdicts.Add(verdict);
            }
            if (!verdict.Accepted)
            {
                await BedrockSigV4Verifier.WriteRejectionAsync(context.Response, verdict, context.RequestAborted);
                return;
            }
            var writer = new BedrockStreamWriter(context.Response);
            await writer.StartAsync(context.RequestAborted);
            foreach (var json in new[] { MessageStart, BlockStart, Delta }.Take(goodFrames))
            {
                await writer.WriteEventAsync(json, context.RequestAborted);
            }
            var frame = new ArrayBufferWriter<byte>();
            BedrockFrames.WriteChunk(frame, "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"never seen\"}}"u8);
            var bytes = frame.WrittenSpan.ToArray();
            switch (corruption)
            {
                case Corruption.MessageChecksum:
                    bytes[^1] ^= 0xFF;
                    break;
                case Corruption.PreludeChecksum:
                    // Bytes 8..11 are the prelude CRC (AWS event-stream encoding: total length, headers length, prelude CRC).
                    bytes[8] ^= 0xFF;
                    break;
                case Corruption.Truncated:
                    bytes = bytes[..(bytes.Length / 2)];
                    break;
            }
            await writer.WriteRawAsync(bytes, context.RequestAborted);
        });
    }

    [Theory]
    [InlineData(0, Corruption.MessageChecksum, "MessageChecksumMismatch")]
    [InlineData(0, Corruption.PreludeChecksum, "PreludeChecksumMismatch")]
    [InlineData(0, Corruption.Truncated, "Truncated")]
    [InlineData(3, Corruption.MessageChecksum, "MessageChecksumMismatch")]
    [InlineData(3, Corruption.PreludeChecksum, "PreludeChecksumMismatch")]
    [InlineData(3, Corruption.Truncated, "Truncated")]
    public async Task A_corrupt_frame_from_bedrock_ends_the_door_stream_with_an_exception_frame(int goodFrames, Corruption corruption, string error)
    {
        var verdicts = new List<BedrockAuthVerdict>();
        await using var bedrock = await CorruptBedrockAsync(goodFrames, corruption, verdicts);
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Bedrock, configure: c => c with
        {
            Upstreams = [c.Upstreams[0] with { Url = bedrock.BaseUri }],
        });

        using var request = BedrockTests.DoorRequest(harness, BedrockTests.ProfileId, stream: true);
        using var response = await harness.SendStreamingAsync(request);
        // The repository's decoder throws on any corrupt or partial frame: none of the upstream's broken bytes reached the client.
        var frames = BedrockTests.Frames(await response.Content.ReadAsByteArrayAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(BedrockFrames.ContentType, response.Content.Headers.ContentType?.MediaType);
        Assert.True(Assert.Single(verdicts).Accepted);
        // The good frames arrived as they were, then exactly one exception frame, then the stream ended.
        Assert.Equal(new[] { "message_start", "content_block_start", "content_block_delta" }.Take(goodFrames), frames.SkipLast(1).Select(f => f.Type));
        var (type, json) = frames[^1];
        Assert.Equal("exception:internalServerException", type);
        Assert.Contains($"upstream 'main' sent a corrupt event-stream frame ({error} at frame {goodFrames}, byte ", json, StringComparison.Ordinal);
        Assert.Contains("the answer is incomplete", json, StringComparison.Ordinal);
        Assert.DoesNotContain("never seen", json, StringComparison.Ordinal);

        var record = await harness.SingleAuditAsync();
        Assert.Equal("upstream_stream_corrupt", record.ErrorType);
        Assert.Equal(AuditOutcome.UpstreamError, record.Outcome);
        Assert.Equal("bedrock", record.Door);
        Assert.Equal("invoke_with_response_stream", record.Operation);
    }

    [Fact]
    public async Task A_bedrock_stream_lost_inside_its_first_frame_is_retried_before_the_first_client_byte()
    {
        // Call 1: 200 and its headers, half of the first frame, then the connection is reset: nothing of an answer
        // reached the client, so the first-frame probe makes it an attempt failure and the request is sent again.
        var verifier = new BedrockSigV4Verifier(ScriptedUpstream.BedrockRegion, null, BedrockSigV4Verifier.TestCredentials);
        var calls = 0;
        await using var bedrock = await ProbeUpstream.StartAsync(async context =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            if (!verifier.Verify(context.Request, body.ToArray()).Accepted)
            {
                context.Response.StatusCode = 403;
                return;
            }
            var writer = new BedrockStreamWriter(context.Response);
            await writer.StartAsync(context.RequestAborted);
            if (Interlocked.Increment(ref calls) == 1)
            {
                var frame = new ArrayBufferWriter<byte>();
                BedrockFrames.WriteChunk(frame, System.Text.Encoding.UTF8.GetBytes(MessageStart));
                await writer.WriteRawAsync(frame.WrittenMemory[..(frame.WrittenCount / 2)], context.RequestAborted);
                // Let the bytes reach the gateway before the reset (a reset drops what the peer has not read yet).
                await Task.Delay(150, context.RequestAborted);
                context.Abort();
                return;
            }
            foreach (var json in new[] { MessageStart, BlockStart, Delta, BlockStop, MessageDelta, MessageStop })
            {
                await writer.WriteEventAsync(json, context.RequestAborted);
            }
        });
        var log = new CapturingOutput(output);
        await using var harness = await GatewayHarness.StartAsync(log, upstreamKind: UpstreamKind.Bedrock, configure: c => c with
        {
            Upstreams = [c.Upstreams[0] with { Url = bedrock.BaseUri, Retries = 1, RetryBackoff = TimeSpan.FromMilliseconds(10) }],
        });

        using var request = BedrockTests.DoorRequest(harness, BedrockTests.ProfileId, stream: true);
        using var response = await harness.SendStreamingAsync(request);
        var frames = BedrockTests.Frames(await response.Content.ReadAsByteArrayAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop"],
            frames.Select(f => f.Type));
        Assert.Equal(2, calls);
        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.Ok, record.Outcome);
        Assert.Contains(log.Lines, l => l.Contains($"{record.RequestId} attempt 1 on upstream main failed before the first byte: upstream_stream_broken", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("arn:aws:bedrock:eu-west-1:123456789012:application-inference-profile/abc123", "is in region eu-west-1, outside allowed_regions (us-east-1)")]
    [InlineData("eu.anthropic.claude-sonnet-4-5-20250929-v1:0", "is a cross-region inference profile that may be served anywhere in 'eu', outside allowed_regions (us-east-1)")]
    public async Task A_model_outside_allowed_regions_is_an_access_denied_on_the_door_and_never_reaches_bedrock(string model, string reason)
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Bedrock, configure: c => c with
        {
            Upstreams = [c.Upstreams[0] with { AllowedRegions = [ScriptedUpstream.BedrockRegion] }],
        });

        using var stream = BedrockTests.DoorRequest(harness, model, stream: true);
        using var streamResponse = await harness.Client.SendAsync(stream);
        using var invoke = BedrockTests.DoorRequest(harness, model, stream: false);
        using var invokeResponse = await harness.Client.SendAsync(invoke);

        foreach (var response in new[] { streamResponse, invokeResponse })
        {
            // Refused before the stream starts: Bedrock's JSON error shape, not an event stream.
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            var (errorType, message) = await BedrockTests.AwsErrorAsync(response);
            Assert.Equal("AccessDeniedException", errorType);
            Assert.Equal($"upstream 'main' refused the request: model '{model}' {reason}", message);
        }
        Assert.Empty(harness.Upstream.Bedrock.Calls);
        var records = await harness.AuditAsync(2);
        // The same error type as the Messages door (RegionResidencyTests): the check is the upstream's, whichever door.
        Assert.All(records, r =>
        {
            Assert.Equal("region_refused", r.ErrorType);
            Assert.Equal(AuditOutcome.Rejected, r.Outcome);
            Assert.Equal("bedrock", r.Door);
            Assert.Equal(model, r.Model);
        });
    }

    [Fact]
    public async Task An_upstream_whose_own_region_is_outside_allowed_regions_stops_startup()
    {
        // Nothing would ever be allowed through it: the gateway refuses to start and names the upstream's region.
        var failure = await Assert.ThrowsAsync<ConfigurationException>(() => GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Bedrock, configure: c => c with
        {
            Upstreams = [c.Upstreams[0] with { AllowedRegions = ["eu-central-1"] }],
        }));

        Assert.Contains(failure.Errors, e => e.Contains("region 'us-east-1' is not in allowed_regions (eu-central-1)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Expired_session_credentials_refused_by_bedrock_are_an_aws_shaped_403_without_the_credentials()
    {
        // Temporary credentials (with a session token) that Bedrock says have expired: the verifier knows them with an
        // expiry in the past and answers 403 ExpiredTokenException, as STS-issued keys get after their expiry.
        const string AccessKey = "ASIAEXPIREDEXAMPLE01";
        const string SecretKey = "expiredSecret/Key+EXAMPLE0123456789abcdefg";
        const string SessionToken = "IQoJb3JpZ2luX2VjEExpiredSessionTokenEXAMPLE0123456789";
        var expired = new AwsCredentials(AccessKey, SecretKey, SessionToken, DateTimeOffset.UtcNow.AddMinutes(-10));
        await using var bedrock = await ScriptedBedrock.StartAsync(new ScriptedBedrock(new BedrockSigV4Verifier(ScriptedUpstream.BedrockRegion, null, expired)));
        var log = new CapturingOutput(output);
        await using var harness = await GatewayHarness.StartAsync(log, upstreamKind: UpstreamKind.Bedrock,
            configure: c => c with { Upstreams = [c.Upstreams[0] with { Url = new Uri(bedrock.BaseUrl) }] },
            environment: name => name switch
            {
                "AWS_ACCESS_KEY_ID" => AccessKey,
                "AWS_SECRET_ACCESS_KEY" => SecretKey,
                "AWS_SESSION_TOKEN" => SessionToken,
                _ => null,
            });

        using var request = BedrockTests.DoorRequest(harness, BedrockTests.ProfileId, stream: true);
        using var response = await harness.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("AccessDeniedException", response.Headers.GetValues("x-amzn-ErrorType").Single());
        using (var error = System.Text.Json.JsonDocument.Parse(body))
        {
            // Bedrock's words, said to be about the gateway's credentials (the client holds none it could renew).
            Assert.Equal("Bedrock refused the gateway's AWS credentials for upstream 'main' (ExpiredTokenException): The security token included in the request is expired",
                error.RootElement.GetProperty("message").GetString());
        }
        // The signed call reached Bedrock (the signature carried the session token) and was refused there.
        var call = Assert.Single(bedrock.Calls);
        Assert.Equal(SessionToken, call.Request.Header("x-amz-security-token"));
        var record = await harness.SingleAuditAsync();
        Assert.Equal("upstream_status_403", record.ErrorType);
        Assert.Equal(AuditOutcome.UpstreamError, record.Outcome);
        Assert.Equal("bedrock", record.Door);
        var trail = System.Text.Json.JsonSerializer.Serialize(record);
        foreach (var text in new[] { body, string.Join('\n', log.Lines), trail })
        {
            Assert.DoesNotContain(SecretKey, text, StringComparison.Ordinal);
            Assert.DoesNotContain(SessionToken, text, StringComparison.Ordinal);
        }
    }
}


using Airlock.Core.Configuration;
using System.Buffers;
using System.Net;
using System.Text;
using System.Text.Json;
using Airlock.FunctionalTests.Audit;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Protocols.Aws.Bedrock;
using Airlock.Protocols.Aws.EventStream;
using Airlock.Testing;

namespace Airlock.FunctionalTests;

/// <summary>
/// Only the bytes that complete an answer wait for its audit record. The scripted upstream sends its whole answer in
/// one chunk, and the audit store refuses every append until the test heals it: the client must still get the status,
/// the headers and every event before the completing one at once, and the completing bytes only after the record is
/// durable. Every wait is on state, bounded by a generous timeout (the suite runs on a loaded machine).
/// </summary>
public sealed class HeldAnswerTests(ITestOutputHelper output)
{
    // The answer's last bytes wait for the store's commit (audit.durable: commit), which these tests hold with a failing
    // store; the default journal mode waits for the journal instead (AuditJournalTests).
    private static AirlockConfig CommitMode(AirlockConfig config) => config with { Audit = config.Audit with { Durability = AuditDurability.Commit } };

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task A_stream_sent_in_one_chunk_reaches_the_client_up_to_message_stop_before_its_record_is_durable()
    {
        FailingAuditStore? failing = null;
        await using var harness = await GatewayHarness.StartAsync(output, CommitMode, wrapAuditStore: s => failing = new FailingAuditStore(s));
        failing!.Failing = true;
        try
        {
            using var request = harness.Messages(RequestBodies.Streaming());
            using var response = await harness.SendStreamingAsync(request).WaitAsync(Patience);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var names = new List<string>();
            await using var events = SseStreamReader.ReadEventsAsync(await response.Content.ReadAsStreamAsync()).GetAsyncEnumerator();
            while (!names.Contains("message_delta"))
            {
                Assert.True(await events.MoveNextAsync().AsTask().WaitAsync(Patience), "the stream ended before message_delta");
                names.Add(events.Current.Name);
            }
            Assert.Equal("message_start", names[0]);

            // Everything before message_stop arrived while the store refuses the record; message_stop itself must wait.
            Assert.True(failing.Failing, "the store healed itself before the test could check the held bytes");
            var next = events.MoveNextAsync().AsTask();
            await WaitUntilAsync(() => failing.FailedAppends >= 2, "the writer never tried the failing store");
            Assert.False(next.IsCompleted, "message_stop reached the client although its audit record was not durable");

            failing.Failing = false;
            Assert.True(await next.WaitAsync(Patience));
            Assert.Equal("message_stop", events.Current.Name);
            Assert.False(await events.MoveNextAsync().AsTask().WaitAsync(Patience));
            Assert.Equal(Core.Audit.AuditOutcome.Ok, (await harness.SingleAuditAsync()).Outcome);
        }
        finally
        {
            failing.Failing = false;
        }
    }

    [Fact]
    public async Task A_bedrock_door_stream_sends_every_frame_but_the_last_before_its_record_is_durable()
    {
        FailingAuditStore? failing = null;
        await using var harness = await GatewayHarness.StartAsync(output, CommitMode, wrapAuditStore: s => failing = new FailingAuditStore(s));
        failing!.Failing = true;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(harness.GatewayUri, "/bedrock/model/" + RequestBodies.Model + "/invoke-with-response-stream"))
            {
                Content = new StringContent("{\"anthropic_version\":\"bedrock-2023-05-31\",\"max_tokens\":64,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                    Encoding.UTF8, "application/json"),
            };
            request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + harness.DeveloperKey);
            using var response = await harness.SendStreamingAsync(request).WaitAsync(Patience);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadAsStreamAsync();
            var frames = new FrameTypes();
            using var decoder = new EventStreamDecoder();
            var buffer = new byte[4096];
            while (!frames.Types.Contains("message_delta"))
            {
                var read = await body.ReadAsync(buffer).AsTask().WaitAsync(Patience);
                Assert.True(read > 0, "the stream ended before message_delta");
                decoder.Feed(buffer.AsSpan(0, read), frames);
            }
            Assert.Equal("message_start", frames.Types[0]);

            var rest = body.ReadAsync(buffer).AsTask();
            await WaitUntilAsync(() => failing.FailedAppends >= 2, "the writer never tried the failing store");
            Assert.False(rest.IsCompleted, "the last frame reached the client although its audit record was not durable");

            failing.Failing = false;
            var last = await rest.WaitAsync(Patience);
            Assert.True(last > 0);
            decoder.Feed(buffer.AsSpan(0, last), frames);
            int more;
            while ((more = await body.ReadAsync(buffer).AsTask().WaitAsync(Patience)) > 0)
            {
                decoder.Feed(buffer.AsSpan(0, more), frames);
            }
            decoder.Complete();
            Assert.Equal("message_stop", frames.Types[^1]);
        }
        finally
        {
            failing.Failing = false;
        }
    }

    [Fact]
    public async Task A_json_answer_sends_its_status_and_headers_before_its_record_is_durable()
    {
        FailingAuditStore? failing = null;
        await using var harness = await GatewayHarness.StartAsync(output, CommitMode, wrapAuditStore: s => failing = new FailingAuditStore(s));
        failing!.Failing = true;
        try
        {
            using var request = harness.Messages(RequestBodies.NonStreaming());
            using var response = await harness.SendStreamingAsync(request).WaitAsync(Patience);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);

            var body = response.Content.ReadAsByteArrayAsync();
            await WaitUntilAsync(() => failing.FailedAppends >= 2, "the writer never tried the failing store");
            Assert.False(body.IsCompleted, "the JSON answer was complete although its audit record was not durable");

            failing.Failing = false;
            using var document = JsonDocument.Parse(await body.WaitAsync(Patience));
            Assert.Equal("message", document.RootElement.GetProperty("type").GetString());
        }
        finally
        {
            failing.Failing = false;
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string failure)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(20);
        }
    }

    /// <summary>The Messages event type each chunk frame carries, in order.</summary>
    private sealed class FrameTypes : IEventStreamFrameHandler
    {
        public List<string> Types { get; } = [];

        public void OnFrame(EventStreamFrame frame)
        {
            var json = new ArrayBufferWriter<byte>();
            Assert.True(BedrockFrames.TryDecodeChunk(frame.Payload, json));
            using var document = JsonDocument.Parse(json.WrittenMemory);
            Types.Add(document.RootElement.GetProperty("type").GetString()!);
        }
    }
}

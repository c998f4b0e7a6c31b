using System.Buffers;
using System.Net.Http.Headers;
using System.Text;
using Airlock.Protocols.Aws.Bedrock;
using Airlock.Protocols.Aws.EventStream;
using Airlock.Protocols.Aws.Signing;
using BenchmarkDotNet.Attributes;

namespace Airlock.Benchmarks;

/// <summary>
/// AWS protocol costs on the Bedrock path: decoding a Bedrock response stream (ours vs AWSSDK.Core's decoder), translating
/// it to Messages SSE, encoding chunk frames (ours vs AWSSDK.Core's <c>EventStreamMessage</c>), and SigV4 signing.
/// The stream is 200 <c>content_block_delta</c> events (~150 bytes of JSON each, ~45 KB of frames) read in 4 KiB socket-sized chunks.
/// Run: <c>dotnet run -c Release -- --filter '*AwsBenchmarks*'</c>.
/// </summary>
[MemoryDiagnoser]
public class AwsBenchmarks
{
    private const int Events = 200;
    private const int ReadSize = 4096;

    private byte[][] _eventJson = [];
    private byte[] _stream = [];
    private byte[][] _streamChunks = [];
    private readonly ArrayBufferWriter<byte> _output = new(64 * 1024);
    private readonly CountingHandler _counter = new();
    private readonly SigningKeyCache _keys = new();
    private readonly AwsCredentials _credentials = new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token-example");
    private readonly BedrockEndpoint _endpoint = new("us-east-1");
    private readonly DateTimeOffset _now = new(2026, 11, 24, 3, 0, 0, TimeSpan.Zero);
    private byte[] _requestBody = [];

    [GlobalSetup]
    public void Setup()
    {
        _eventJson = Enumerable.Range(0, Events)
            .Select(i => Encoding.UTF8.GetBytes($"{{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"chunk {i:D4} of a streamed answer about the build system and its caches, with some more words\"}}}}"))
            .ToArray();
        var buffer = new ArrayBufferWriter<byte>();
        foreach (var json in _eventJson)
        {
            BedrockFrames.WriteChunk(buffer, json);
        }
        _stream = buffer.WrittenSpan.ToArray();
        _streamChunks = _stream.Chunk(ReadSize).ToArray();
        _requestBody = new byte[40 * 1024];
        Random.Shared.NextBytes(_requestBody);
    }

    [Benchmark(Description = "decode stream: Airlock EventStreamDecoder")]
    public long DecodeOurs()
    {
        using var decoder = new EventStreamDecoder();
        foreach (var chunk in _streamChunks)
        {
            decoder.Feed(chunk, _counter);
        }
        decoder.Complete();
        return decoder.FramesDecoded;
    }

    [Benchmark(Description = "decode stream: AWSSDK.Core EventStreamDecoder")]
    public int DecodeAwsSdk()
    {
        var decoder = new Amazon.Runtime.EventStreams.Internal.EventStreamDecoder();
        var count = 0;
        decoder.MessageReceived += (_, e) => count += e.Message.Payload.Length > 0 ? 1 : 0;
        foreach (var chunk in _streamChunks)
        {
            decoder.ProcessData(chunk, 0, chunk.Length);
        }
        return count;
    }

    [Benchmark(Description = "translate stream: Bedrock frames -> Messages SSE")]
    public int TranslateToSse()
    {
        using var translator = new BedrockFramesToSse();
        _output.ResetWrittenCount();
        foreach (var chunk in _streamChunks)
        {
            translator.Feed(chunk, _output);
        }
        translator.Complete();
        return _output.WrittenCount;
    }

    [Benchmark(Description = "encode 200 chunk frames: Airlock BedrockFrames.WriteChunk")]
    public int EncodeOurs()
    {
        _output.ResetWrittenCount();
        foreach (var json in _eventJson)
        {
            BedrockFrames.WriteChunk(_output, json);
        }
        return _output.WrittenCount;
    }

    [Benchmark(Description = "encode 200 chunk frames: AWSSDK.Core EventStreamMessage")]
    public int EncodeAwsSdk()
    {
        var total = 0;
        foreach (var json in _eventJson)
        {
            var headers = new List<Amazon.Runtime.EventStreams.IEventStreamHeader>(3);
            var eventType = new Amazon.Runtime.EventStreams.EventStreamHeader(":event-type");
            eventType.SetString("chunk");
            var contentType = new Amazon.Runtime.EventStreams.EventStreamHeader(":content-type");
            contentType.SetString("application/json");
            var messageType = new Amazon.Runtime.EventStreams.EventStreamHeader(":message-type");
            messageType.SetString("event");
            headers.Add(eventType);
            headers.Add(contentType);
            headers.Add(messageType);
            var payload = Encoding.UTF8.GetBytes("{\"bytes\":\"" + Convert.ToBase64String(json) + "\"}");
            total += new Amazon.Runtime.EventStreams.EventStreamMessage(headers, payload).ToByteArray().Length;
        }
        return total;
    }

    [Benchmark(Description = "SigV4: sign a Bedrock request (40 KB body, cached key)")]
    public int SignBedrockRequest()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint.InvokeUri("us.anthropic.claude-sonnet-4-5-20250929-v1:0", BedrockOperation.InvokeWithResponseStream))
        {
            Content = new ByteArrayContent(_requestBody),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return SigV4BedrockAuthorizer.Sign(request, _requestBody, _credentials, _now, _keys, "us-east-1").Signature.Length;
    }

    [Benchmark(Description = "SigV4: sign, key derived every time")]
    public int SignUncached()
    {
        var request = new SigV4Request("POST", "/model/us.anthropic.claude-sonnet-4-5-20250929-v1%3A0/invoke", "",
            [new("host", "bedrock-runtime.us-east-1.amazonaws.com"), new("x-amz-date", "20261124T030000Z"), new("content-type", "application/json")],
            SigV4.EmptyPayloadHash);
        return SigV4.Sign(request, _credentials, "us-east-1", "bedrock", _now).Signature.Length;
    }

    private sealed class CountingHandler : IEventStreamFrameHandler
    {
        public int Count { get; private set; }

        public void OnFrame(EventStreamFrame frame) => Count += frame.Payload.Length > 0 ? 1 : 0;
    }
}

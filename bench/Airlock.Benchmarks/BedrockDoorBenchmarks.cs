using System.Buffers;
using System.Text.Json.Nodes;
using Airlock.Protocols.Aws.Bedrock;
using Airlock.Protocols.Json;
using Airlock.Protocols.Sse;
using BenchmarkDotNet.Attributes;

namespace Airlock.Benchmarks;

/// <summary>
/// What the Bedrock front door does per request that the Messages door does not, on the gateway bench's own data: the
/// recorded answer (<c>bench/gateway/upstream-sse.txt</c>, 10 events, 1.4 KB, arriving in one read as nginx sends it)
/// translated into <c>chunk</c> frames, against parsing the same SSE alone (all the Messages door does with it); and the
/// 49 KB turn (<c>bench/data/claude-code-request.json</c> in Bedrock form) spliced into a Messages body, into a new
/// array or into a pooled one (what <c>BodyConverter</c> does now).
/// Run: <c>dotnet run -c Release -- --filter '*BedrockDoorBenchmarks*'</c>.
/// </summary>
[MemoryDiagnoser]
public class BedrockDoorBenchmarks
{
    private static readonly string[] Remove = ["model", "anthropic_version", "anthropic_beta", "stream"];

    private readonly ArrayBufferWriter<byte> _frames = new(16 * 1024);
    private readonly SseEventParser _parser = new();
    private readonly EncodingSink _encoder;
    private readonly CountingSink _counter = new();
    private byte[] _answer = [];
    private byte[] _bedrockBody = [];
    private JsonObjectLayout _layout = null!;
    private TopLevelSplicer.Insertion[] _insert = [];

    public BedrockDoorBenchmarks() => _encoder = new EncodingSink(_frames);

    [GlobalSetup]
    public void Setup()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "bench", "gateway", "upstream-sse.txt")))
        {
            directory = directory.Parent;
        }
        var root = directory?.FullName ?? throw new InvalidOperationException("repository root not found");
        _answer = File.ReadAllBytes(Path.Combine(root, "bench", "gateway", "upstream-sse.txt"));
        // The bench's Bedrock leg: no model/stream members, anthropic_version appended (run.sh and probe.sh use jq the same way).
        var turn = JsonNode.Parse(File.ReadAllBytes(Path.Combine(root, "bench", "data", "claude-code-request.json")))!.AsObject();
        var model = turn["model"]?.GetValue<string>() ?? "claude-opus-5-5";
        turn.Remove("model");
        turn.Remove("stream");
        turn["anthropic_version"] = "bedrock-2023-05-31";
        _bedrockBody = System.Text.Encoding.UTF8.GetBytes(turn.ToJsonString());
        _layout = JsonObjectLayout.Read(_bedrockBody);
        _insert = [new("model", TopLevelSplicer.StringLiteral(model)), new("stream", "true"u8.ToArray())];
    }

    [GlobalCleanup]
    public void Cleanup() => _parser.Dispose();

    [Benchmark(Baseline = true, Description = "answer: parse SSE only (Messages door)")]
    public int ParseOnly()
    {
        _counter.Events = 0;
        _parser.Feed(_answer, _counter);
        return _counter.Events;
    }

    [Benchmark(Description = "answer: SSE -> chunk frames (Bedrock door)")]
    public int TranslateToFrames()
    {
        _frames.ResetWrittenCount();
        _parser.Feed(_answer, _encoder);
        return _frames.WrittenCount;
    }

    [Benchmark(Description = "request: Bedrock body -> Messages body, new array")]
    public int SpliceAllocated() => TopLevelSplicer.Edit(_bedrockBody, _layout, Remove, _insert).Length;

    [Benchmark(Description = "request: Bedrock body -> Messages body, pooled array")]
    public int SplicePooled()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(TopLevelSplicer.EditedLengthBound(_bedrockBody.Length, _insert));
        var written = TopLevelSplicer.Edit(_bedrockBody, _layout, Remove, _insert, buffer);
        ArrayPool<byte>.Shared.Return(buffer);
        return written;
    }

    /// <summary>The door's encoder: every event's data becomes a <c>chunk</c> frame.</summary>
    private sealed class EncodingSink(IBufferWriter<byte> frames) : ISseEventSink
    {
        public void OnEvent(ReadOnlySpan<byte> eventType, ReadOnlySpan<byte> data) => BedrockFrames.WriteChunk(frames, data);
    }

    private sealed class CountingSink : ISseEventSink
    {
        public int Events { get; set; }

        public void OnEvent(ReadOnlySpan<byte> eventType, ReadOnlySpan<byte> data) => Events++;
    }
}

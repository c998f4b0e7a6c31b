using Microsoft.Extensions.Logging;

using Xunit;
using Xunit.Abstractions;

namespace Airlock.Testing;

/// <summary>
/// Routes gateway logs to the test's output, so a failing test shows what the gateway said. Writes after
/// the test has ended (a late audit flush, a shutdown warning) are dropped: xunit refuses them.
/// </summary>
public sealed class XunitLoggerProvider(ITestOutputHelper output) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new XunitLogger(output, categoryName);

    public void Dispose()
    {
    }

    private sealed class XunitLogger(ITestOutputHelper output, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var shortCategory = category[(category.LastIndexOf('.') + 1)..];
            try
            {
                output.WriteLine($"[{logLevel}] {shortCategory}: {formatter(state, exception)}");
            }
            catch (InvalidOperationException)
            {
                // The test already finished.
            }
        }
    }
}

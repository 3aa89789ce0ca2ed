export { type ParquetWrite, type ParquetWriteOptions, type ParquetWriteResult, ParquetInputError, PrestartedParquetWriter, writeParquet } from "./parquet-writer.js";
export { pythonInterpreter } from "./python.js";
